/**
 * Reads a registry config file (JSON or YAML, the shape of `RegistryConfig`) for the node agent's
 * `--registry-config` and `kctl image`: every error names the file, and the field when it is one.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import { RegistryError } from "./errors.js";
import { parseRegistryConfig, type RegistryConfig } from "./registry-config.js";

export async function readRegistryConfigFile(path: string): Promise<RegistryConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new RegistryError("Invalid", `${path}: cannot read the registry config: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new RegistryError("Invalid", `${path}: not JSON or YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  return parseRegistryConfig(value, path);
}
