/**
 * `--registry-config FILE`, shared by `kctl join` and `kctl up`: the node agent's registry settings
 * (mirrors, plain HTTP, CA per registry host; JSON or YAML, see node-agent/runtime/registry). Read
 * and checked before the agent starts, so a bad file stops the command naming the file and field.
 */
import type { RegistryConfig } from "../../node-agent/runtime/registry/index.js";
import { readRegistryConfigFile } from "../../node-agent/runtime/registry/registry-config-file.js";
import type { FlagSpec, Flags } from "../args.js";
import { CliError } from "../errors.js";

export const registryConfigFlag: FlagSpec = {
  name: "registry-config",
  kind: "string",
  placeholder: "FILE",
  help: "registry settings for image pulls (mirrors, plainHttp, ca per host), JSON or YAML",
};

/** The agent option for the flag, empty when it is absent. */
export async function registryConfigOption(flags: Flags): Promise<{ registryConfig?: RegistryConfig }> {
  const file = flags.string(registryConfigFlag.name);
  if (file === undefined) return {};
  try {
    return { registryConfig: await readRegistryConfigFile(file) };
  } catch (err) {
    throw new CliError(`--${registryConfigFlag.name}: ${(err as Error).message}`);
  }
}
