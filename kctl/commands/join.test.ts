import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { joinToken } from "./join.js";
import { parseTtl } from "./token.js";

describe("where kctl join takes its token from", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-join-token-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a token on the command line, where ps shows it to every user", async () => {
    await expect(joinToken(undefined, "abcdef.0123456789abcdef", {})).rejects.toThrow(/--token: .*visible/);
  });

  it("reads --token-file, then KCTL_TOKEN", async () => {
    const file = join(dir, "token");
    await writeFile(file, "abcdef.0123456789abcdef\n", { mode: 0o600 });
    expect(await joinToken(file, undefined, { KCTL_TOKEN: "other.x" })).toBe("abcdef.0123456789abcdef");
    expect(await joinToken(undefined, undefined, { KCTL_TOKEN: "abcdef.0123456789abcdef" })).toBe(
      "abcdef.0123456789abcdef",
    );
  });

  it("names the file or the variable when the token is missing", async () => {
    await expect(joinToken(join(dir, "absent"), undefined, {})).rejects.toThrow(/--token-file .*absent/);
    await writeFile(join(dir, "empty"), "\n");
    await expect(joinToken(join(dir, "empty"), undefined, {})).rejects.toThrow(/is empty/);
    await expect(joinToken(undefined, undefined, {})).rejects.toThrow(/KCTL_TOKEN/);
  });
});

describe("kctl token create --ttl", () => {
  it("takes durations and refuses a token that never expires", () => {
    expect(parseTtl("90s")).toBe(90);
    expect(parseTtl("24h")).toBe(86_400);
    expect(() => parseTtl("0")).toThrow(/must expire/);
    expect(() => parseTtl("0h")).toThrow(/must expire/);
    expect(() => parseTtl("soon")).toThrow(/--ttl/);
  });
});
