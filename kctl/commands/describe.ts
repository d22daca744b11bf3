/**
 * `kctl describe KIND [NAME...] | KIND/NAME...`: a readable description of each object with its
 * Events (the namespace's events filtered by involvedObject here, since the store selects only by
 * labels). Without names it describes every object of the kind (optionally by -l).
 */

import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resolveResourceName } from "../../foundation/api/resources.js";
import type { Endpoints, Event } from "../../proto/gen/api.js";
import type { ApiClient } from "../client.js";
import type { Command } from "../command.js";
import { allNamespacesFlag, namespaceFlag, selectorFlag } from "../common-flags.js";
import { describeObject } from "../describe/describe-object.js";
import { errorLines, UsageError } from "../errors.js";
import { namespaceFlagValue, parseTargets, selectorFlagValue } from "../targets.js";

const eventInfo = resolveResourceName("events")!;
const endpointsInfo = resolveResourceName("endpoints")!;

/** Events about `obj`: by uid when the event has one, else by kind, namespace and name. */
function eventsFor(obj: KubeObject, all: readonly Event[]): Event[] {
  return all.filter((e) => {
    const ref = e.involvedObject ?? {};
    if (ref.uid && obj.metadata.uid) return ref.uid === obj.metadata.uid;
    return (
      ref.kind === obj.kind &&
      ref.name === obj.metadata.name &&
      (ref.namespace ?? "") === (obj.metadata.namespace ?? "")
    );
  });
}

async function listEvents(
  client: ApiClient,
  cache: Map<string, Event[]>,
  namespace: string,
): Promise<Event[]> {
  let events = cache.get(namespace);
  if (!events) {
    events = (await client.list(eventInfo, namespace)).items as unknown as Event[];
    cache.set(namespace, events);
  }
  return events;
}

export const describeCommand: Command = {
  usage: "kctl describe KIND [NAME...] | KIND/NAME... [-n NS | -A] [-l SELECTOR]",
  flags: [namespaceFlag, allNamespacesFlag, selectorFlag],
  async run(ctx) {
    const targets = parseTargets(ctx.positionals, "describe");
    const all = ctx.flags.bool("all-namespaces");
    if (all && ctx.flags.has("namespace")) throw new UsageError("-A and -n cannot be used together");
    const labelSelector = selectorFlagValue(ctx.flags);
    const { client, access } = await ctx.connect();
    const namespace = all ? undefined : namespaceFlagValue(ctx.flags, access.namespace);
    const eventCache = new Map<string, Event[]>();
    let failed = false;
    let first = true;
    for (const { info, names } of targets) {
      const ns = info.namespaced ? namespace : undefined;
      let objects: KubeObject[] = [];
      if (names.length === 0) {
        objects = (await client.list(info, ns, labelSelector ? { labelSelector } : {})).items;
      } else {
        for (const name of names) {
          try {
            objects.push(await client.get(info, ns, name));
          } catch (err) {
            if (!isApiError(err, "NotFound")) throw err;
            failed = true;
            for (const line of errorLines(err)) ctx.io.stderr.write(`${line}\n`);
          }
        }
      }
      for (const obj of objects) {
        // Events about cluster-scoped objects (nodes) are recorded in the default namespace.
        const events = await listEvents(client, eventCache, obj.metadata.namespace || "default");
        let endpoints: Endpoints | undefined;
        if (info.kind === "Service") {
          endpoints = (await client
            .get(endpointsInfo, obj.metadata.namespace, obj.metadata.name ?? "")
            .catch((err: unknown) => {
              if (isApiError(err, "NotFound")) return undefined;
              throw err;
            })) as Endpoints | undefined;
        }
        if (!first) ctx.io.stdout.write("\n\n");
        first = false;
        ctx.io.stdout.write(
          describeObject({
            info,
            obj,
            events: eventsFor(obj, events),
            ...(endpoints ? { endpoints } : {}),
            now: ctx.io.clock.now(),
          }),
        );
      }
      if (names.length === 0 && objects.length === 0) {
        ctx.io.stderr.write(ns ? `No resources found in ${ns} namespace.\n` : "No resources found\n");
      }
    }
    return failed ? 1 : 0;
  },
};
