import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRegistryConfigFile } from "./registry-config-file.js";

describe("readRegistryConfigFile", () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-regconf-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const file = async (name: string, text: string) => {
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };

  it("reads YAML and JSON", async () => {
    const yaml = await file("a.yaml", 'hosts:\n  "10.0.0.1:5000":\n    plainHttp: true\n');
    expect(await readRegistryConfigFile(yaml)).toEqual({ hosts: { "10.0.0.1:5000": { plainHttp: true } } });
    const json = await file("a.json", '{"hosts": {"r.example": {"mirrors": ["https://m.example"]}}}');
    expect(await readRegistryConfigFile(json)).toEqual({
      hosts: { "r.example": { mirrors: ["https://m.example"] } },
    });
  });

  it("names the file and the field", async () => {
    const bad = await file("bad.yaml", 'hosts:\n  "r:5000":\n    plainHTTP: true\n');
    await expect(readRegistryConfigFile(bad)).rejects.toThrow(
      `${bad}: hosts["r:5000"].plainHTTP: is not a known setting`,
    );
    const notYaml = await file("bad.json", "{hosts: [");
    await expect(readRegistryConfigFile(notYaml)).rejects.toThrow(`${notYaml}: not JSON or YAML`);
    await expect(readRegistryConfigFile(join(dir, "missing"))).rejects.toThrow(
      `${join(dir, "missing")}: cannot read`,
    );
  });
});
