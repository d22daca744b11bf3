/**
 * What `kctl image pull|push` needs to reach a registry: its config (`--registry-config`, the node
 * agent's file; `--plain-http` for the registries the command names) and credentials
 * (`--username` with `--password-stdin` for the registry of the command's remote reference, or a
 * docker config file: `--authfile`, else `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`).
 */
import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseReference } from "../../node-agent/runtime/images/index.js";
import {
  type ClientOptions,
  type Credentials,
  parseDockerConfig,
  type RegistryConfig,
} from "../../node-agent/runtime/registry/index.js";
import { readRegistryConfigFile } from "../../node-agent/runtime/registry/registry-config-file.js";
import type { CommandContext } from "../command.js";
import { CliError, UsageError } from "../errors.js";

/** The flags this module reads, for the command's flag list. */
export const registryAccessFlags = [
  { name: "username", kind: "string", placeholder: "USER", help: "registry user (with --password-stdin)" },
  { name: "password-stdin", kind: "boolean", help: "read the registry password from stdin" },
  {
    name: "authfile",
    kind: "string",
    placeholder: "FILE",
    help: "docker config file with registry credentials (default ~/.docker/config.json)",
  },
  {
    name: "registry-config",
    kind: "string",
    placeholder: "FILE",
    help: "registry settings (mirrors, plainHttp, ca), JSON or YAML, as the node agent's",
  },
  { name: "plain-http", kind: "boolean", help: "reach the named registry over plain HTTP" },
] as const;

/** The registry host of `ref` (`127.0.0.1:5000`, `docker.io`); `flag` names it in the error. */
export function registryOf(ref: string, flag: string): string {
  try {
    const { repository } = parseReference(ref);
    return repository.slice(0, repository.indexOf("/"));
  } catch (err) {
    throw new UsageError(`${flag}: "${ref}" is not an image reference: ${(err as Error).message}`);
  }
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

/** Client options for a command whose remote reference is on registry `host`. */
export async function registryAccess(ctx: CommandContext, host: string): Promise<ClientOptions> {
  const username = ctx.flags.string("username");
  const passwordStdin = ctx.flags.bool("password-stdin");
  if (username !== undefined && !passwordStdin)
    throw new UsageError("--username needs --password-stdin (passwords are not taken on the command line)");
  if (passwordStdin && username === undefined) throw new UsageError("--password-stdin needs --username");
  if (username === "") throw new UsageError("--username: must not be empty");

  let credentials: Map<string, Credentials>;
  if (username !== undefined) {
    const password = (await readStdin(ctx.io.stdin)).replace(/\r?\n$/, "");
    if (password === "") throw new UsageError("--password-stdin: stdin gave an empty password");
    credentials = new Map([[host, { username, password }]]);
  } else {
    credentials = await readAuthFile(ctx);
  }

  let config: RegistryConfig = {};
  const configFile = ctx.flags.string("registry-config");
  if (configFile !== undefined) {
    try {
      config = await readRegistryConfigFile(configFile);
    } catch (err) {
      throw new CliError(`--registry-config: ${(err as Error).message}`);
    }
  }
  if (ctx.flags.bool("plain-http")) {
    config = { ...config, hosts: { ...config.hosts, [host]: { ...config.hosts?.[host], plainHttp: true } } };
  }
  return { config, credentials: (registry) => credentials.get(registry) };
}

async function readAuthFile(ctx: CommandContext): Promise<Map<string, Credentials>> {
  const named = ctx.flags.string("authfile");
  const path =
    named ?? join(ctx.io.env.DOCKER_CONFIG ?? join(ctx.io.env.HOME ?? homedir(), ".docker"), "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if (named === undefined && (err as NodeJS.ErrnoException).code === "ENOENT") return new Map();
    throw new CliError(`--authfile: ${path}: ${(err as Error).message}`);
  }
  try {
    return parseDockerConfig(text, ".dockerconfigjson", path);
  } catch (err) {
    throw new CliError(`--authfile: ${(err as Error).message}`);
  }
}
