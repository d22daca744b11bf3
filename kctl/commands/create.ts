/**
 * Imperative creation, as kubectl's quick starts use it: `kctl create namespace NAME`,
 * `kctl create deployment NAME --image IMAGE [--replicas N] [--port P] [-- COMMAND ARGS...]`,
 * `kctl create job NAME --image IMAGE [-- COMMAND...]` or `--from=cronjob/CJ` (create-job.ts) and
 * `kctl expose deployment NAME --port P [--target-port T] [--type NodePort] [--name SVC]`, a Service
 * selecting the Deployment's pods. `--dry-run=client -o yaml` prints the object instead, a start for
 * a manifest; `--dry-run=server` has the server check it without storing it.
 */

import { qualifiedKind, type ResourceInfo, resourceForKind } from "../../foundation/api/resources.js";
import type { Deployment } from "../../proto/gen/api.js";
import type { Command, CommandContext } from "../command.js";
import { dryRunFlag, dryRunSuffix, namespaceFlag } from "../common-flags.js";
import { CliError, UsageError } from "../errors.js";
import { formatValue } from "../printers/object-output.js";
import { parseWorkload } from "../rollout/workload.js";
import { namespaceFlagValue } from "../targets.js";
import { jobsResource, jobToCreate } from "./create-job.js";

const namespaces = resourceForKind("v1", "Namespace")!;
const deployments = resourceForKind("apps/v1", "Deployment")!;
const services = resourceForKind("v1", "Service")!;

const outputFlag = {
  name: "output",
  short: "o",
  kind: "string",
  choices: ["yaml", "json", "name"],
  placeholder: "FORMAT",
  help: "print the object as yaml, json or name instead of a line saying what was done",
} as const;

export const createCommand: Command = {
  usage: [
    "kctl create namespace NAME",
    "       kctl create deployment NAME --image IMAGE [--replicas N] [--port P] [-n NS] [-- COMMAND ARGS...]",
    "         [--dry-run=client|server] [-o yaml|json|name]",
    "       kctl create job NAME (--image IMAGE [-- COMMAND ARGS...] | --from=cronjob/NAME) [-n NS]",
  ].join("\n"),
  flags: [
    namespaceFlag,
    { name: "from", kind: "string", placeholder: "cronjob/NAME", help: "job: start a run of this CronJob" },
    {
      name: "image",
      kind: "string",
      placeholder: "IMAGE",
      help: "deployment: the container image (required)",
    },
    { name: "replicas", kind: "int", placeholder: "N", help: "deployment: the number of pods (default 1)" },
    { name: "port", kind: "int", placeholder: "P", help: "deployment: the port the container listens on" },
    dryRunFlag,
    outputFlag,
  ],
  async run(ctx) {
    const [what, name, ...rest] = ctx.positionals;
    if (what === "namespace" || what === "ns") {
      if (!name || rest.length > 0) throw new UsageError("create namespace: give one NAME");
      for (const flag of ["image", "replicas", "port"]) {
        if (ctx.flags.has(flag)) throw new UsageError(`--${flag} applies only to "create deployment"`);
      }
      return createOrShow(
        ctx,
        namespaces,
        { apiVersion: "v1", kind: "Namespace", metadata: { name } },
        "created",
      );
    }
    if (what === "job") {
      if (!name) throw new UsageError("create job: give a NAME");
      for (const flag of ["replicas", "port"]) {
        if (ctx.flags.has(flag)) throw new UsageError(`--${flag} applies only to "create deployment"`);
      }
      const job = await jobToCreate(ctx, name, ctx.flags.string("image"), ctx.flags.string("from"), rest);
      return createOrShow(ctx, jobsResource, job, "created");
    }
    if (ctx.flags.has("from")) throw new UsageError('--from applies only to "create job"');
    if (what !== "deployment" && what !== "deploy") {
      throw new UsageError(
        `kctl create: expected namespace, deployment or job${what ? `, got "${what}"` : ""}`,
      );
    }
    if (!name) throw new UsageError("create deployment: give a NAME");
    const image = ctx.flags.string("image");
    if (!image) throw new UsageError("create deployment: --image is required");
    const replicas = ctx.flags.int("replicas") ?? 1;
    if (replicas < 0) throw new UsageError(`--replicas: must be 0 or more, got ${replicas}`);
    const port = ctx.flags.int("port");
    if (port !== undefined && (port < 1 || port > 65535)) {
      throw new UsageError(`--port: must be 1 to 65535, got ${port}`);
    }
    const labels = { app: name };
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name, labels },
      spec: {
        replicas,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            containers: [
              {
                name: containerName(image),
                image,
                ...(rest.length > 0 ? { command: rest } : {}),
                ...(port !== undefined ? { ports: [{ containerPort: port }] } : {}),
              },
            ],
          },
        },
      },
    };
    return createOrShow(ctx, deployments, deployment, "created");
  },
};

export const exposeCommand: Command = {
  usage: [
    "kctl expose deployment NAME --port P [--target-port T] [--type ClusterIP|NodePort] [--name SVC] [-n NS]",
    "         [--dry-run=client|server] [-o yaml|json|name]",
    "       kctl create job NAME (--image IMAGE [-- COMMAND ARGS...] | --from=cronjob/NAME) [-n NS]",
  ].join("\n"),
  flags: [
    namespaceFlag,
    { name: "from", kind: "string", placeholder: "cronjob/NAME", help: "job: start a run of this CronJob" },
    { name: "port", kind: "int", placeholder: "P", help: "the Service's port (required)" },
    {
      name: "target-port",
      kind: "string",
      placeholder: "T",
      help: "the pods' port, a number or a port name (default: --port)",
    },
    {
      name: "type",
      kind: "string",
      choices: ["ClusterIP", "NodePort"],
      placeholder: "TYPE",
      help: "ClusterIP (default) or NodePort",
    },
    {
      name: "name",
      kind: "string",
      placeholder: "SVC",
      help: "the Service's name (default: the Deployment's)",
    },
    dryRunFlag,
    outputFlag,
  ],
  async run(ctx) {
    const { name } = parseWorkload(ctx.positionals, ["Deployment"], "expose");
    const port = ctx.flags.int("port");
    if (port === undefined) throw new UsageError("expose: --port is required");
    if (port < 1 || port > 65535) throw new UsageError(`--port: must be 1 to 65535, got ${port}`);
    const targetText = ctx.flags.string("target-port");
    const targetPort =
      targetText === undefined ? port : /^\d+$/.test(targetText) ? Number(targetText) : targetText;
    const { client, access } = await ctx.connect();
    const namespace = namespaceFlagValue(ctx.flags, access.namespace);
    const d = (await client.get(deployments, namespace, name)) as Deployment;
    const selector = d.spec?.selector?.matchLabels;
    if (
      !selector ||
      Object.keys(selector).length === 0 ||
      (d.spec?.selector?.matchExpressions ?? []).length > 0
    ) {
      throw new CliError(
        `deployment.apps/${name}: its selector is not plain matchLabels, which a Service needs`,
      );
    }
    const service = {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: ctx.flags.string("name") ?? name, labels: d.metadata?.labels ?? selector },
      spec: {
        type: ctx.flags.string("type") ?? "ClusterIP",
        selector,
        ports: [{ port, targetPort, protocol: "TCP" }],
      },
    };
    return createOrShow(ctx, services, service, "exposed");
  },
};

/** kubectl's container name for an image: its last path part without tag or digest. */
function containerName(image: string): string {
  const base = image.split("/").at(-1)!.split(/[:@]/)[0]!;
  return (
    base
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, "-")
      .replace(/^-+|-+$/g, "") || "app"
  );
}

/** Creates `obj` (or, with --dry-run=client, only prints it) and says so as kubectl does. */
async function createOrShow(
  ctx: CommandContext,
  info: ResourceInfo,
  obj: { apiVersion: string; kind: string; metadata: { name: string } },
  done: string,
): Promise<number> {
  const dryRun = ctx.flags.string("dry-run") ?? "none";
  const output = ctx.flags.string("output") as "yaml" | "json" | "name" | undefined;
  let result: object = obj;
  if (dryRun !== "client") {
    const { client, access } = await ctx.connect();
    const namespace = info.namespaced ? namespaceFlagValue(ctx.flags, access.namespace) : undefined;
    result = await client.create(info, namespace, obj, { dryRun: dryRun === "server" });
  }
  const label = `${qualifiedKind(info)}/${obj.metadata.name}`;
  if (output === "yaml" || output === "json") ctx.io.stdout.write(formatValue(result, output));
  else if (output === "name") ctx.io.stdout.write(`${label}\n`);
  else ctx.io.stdout.write(`${label} ${done}${dryRunSuffix(dryRun)}\n`);
  return 0;
}
