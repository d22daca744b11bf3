import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { contentDigest, contextTree, globRegExp, ignored, matchSource, readDockerignore } from "./context.js";

describe("globRegExp", () => {
  it.each([
    ["*.conf", "a.conf", true],
    ["*.conf", "d/a.conf", false],
    ["app/?.txt", "app/a.txt", true],
    ["app/[ab].txt", "app/c.txt", false],
    ["app/[!ab].txt", "app/c.txt", true],
    ["**/*.md", "a/b/c.md", true],
    ["**/*.md", "c.md", true],
    ["a.b", "axb", false],
  ])("%s matches %s: %s", (glob, path, want) => {
    expect(globRegExp(glob).test(path)).toBe(want);
  });
});

describe("the build context", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-context-"));
    await mkdir(join(dir, "app", "logs"), { recursive: true });
    await writeFile(join(dir, "app", "a.txt"), "a");
    await writeFile(join(dir, "app", "keep.log"), "k");
    await writeFile(join(dir, "app", "logs", "x.log"), "x");
    await writeFile(join(dir, "secret"), "s");
    await symlink("/etc/passwd", join(dir, "link"));
    await symlink("app/a.txt", join(dir, "inner-link"));
    await writeFile(join(dir, ".dockerignore"), "# comment\n/secret\n**/*.log\n!app/keep.log\n../outside\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("reads .dockerignore: comments, leading /, ** and exceptions, the last matching rule deciding", async () => {
    const rules = await readDockerignore(dir);
    expect(ignored(rules, "secret")).toBe(true);
    expect(ignored(rules, "app/logs/x.log")).toBe(true);
    expect(ignored(rules, "app/keep.log")).toBe(false);
    expect(ignored(rules, "app/a.txt")).toBe(false);
    expect(ignored(rules, "outside")).toBe(true);
  });

  it("matches sources by path and glob, inside the context only, naming what is missing or excluded", async () => {
    const tree = await contextTree(dir);
    expect(await matchSource(tree, "app/*.txt", "here")).toEqual(["app/a.txt"]);
    expect(await matchSource(tree, "app/*.log", "here")).toEqual(["app/keep.log"]);
    expect(await matchSource(tree, "../../app/a.txt", "here")).toEqual(["app/a.txt"]);
    // A symlink is followed inside the context only: /etc/passwd of the context, which is missing.
    expect(await matchSource(tree, "inner-link", "here")).toEqual(["inner-link"]);
    await expect(matchSource(tree, "link", "here")).rejects.toThrow(/^here: "link" not found in /);
    await expect(matchSource(tree, "secret", "here")).rejects.toThrow(
      /^here: "secret" not found in .* \(excluded by \.dockerignore\)$/,
    );
    await expect(matchSource(tree, "nope", "here")).rejects.toThrow(/^here: "nope" not found in /);
    await expect(matchSource(tree, "*.none", "here")).rejects.toThrow('here: no file matches "*.none"');
  });

  it("digests what a step reads, leaving out what is excluded", async () => {
    const tree = await contextTree(dir);
    const before = await contentDigest(tree, ["app"]);
    await writeFile(join(dir, "app", "logs", "x.log"), "changed, but ignored");
    expect(await contentDigest(tree, ["app"])).toBe(before);
    await writeFile(join(dir, "app", "a.txt"), "changed");
    expect(await contentDigest(tree, ["app"])).not.toBe(before);
  });
});
