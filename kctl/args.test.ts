import { describe, expect, it } from "vitest";
import { type FlagSpec, parseCommandLine } from "./args.js";
import { UsageError } from "./errors.js";

const globals: FlagSpec[] = [
  { name: "config", kind: "string", help: "" },
  { name: "help", short: "h", kind: "boolean", help: "" },
];
const get = {
  name: "get",
  flags: [
    { name: "namespace", short: "n", kind: "string", help: "" },
    { name: "all-namespaces", short: "A", kind: "boolean", help: "" },
    { name: "watch", short: "w", kind: "boolean", help: "" },
    { name: "output", short: "o", kind: "string", choices: ["wide", "yaml"], help: "" },
    { name: "filename", short: "f", kind: "strings", help: "" },
    { name: "grace-period", kind: "int", help: "" },
    { name: "cascade", kind: "string", choices: ["background", "orphan"], bareValue: "background", help: "" },
  ] satisfies FlagSpec[],
};
const version = { name: "version", flags: [] as FlagSpec[] };
const logs = {
  name: "logs",
  flags: [{ name: "follow", short: "f", kind: "boolean", help: "" }] as FlagSpec[],
};
const table = new Map<string, { name: string; flags: FlagSpec[] }>([
  ["get", get],
  ["version", version],
  ["logs", logs],
]);
const loaded: string[] = [];
const flagsOf = async (c: { name: string; flags: FlagSpec[] }) => {
  loaded.push(c.name);
  return c.flags;
};
const parse = (...argv: string[]) => parseCommandLine(argv, table, globals, flagsOf);

describe("parseCommandLine", () => {
  it("reads the command, positionals and every flag form", async () => {
    const p = await parse("get", "pods", "-n", "demo", "web", "--output=yaml", "-Aw", "--grace-period", "5");
    expect(p.command?.name).toBe("get");
    expect(p.positionals).toEqual(["pods", "web"]);
    expect(p.flags.string("namespace")).toBe("demo");
    expect(p.flags.string("output")).toBe("yaml");
    expect(p.flags.bool("all-namespaces")).toBe(true);
    expect(p.flags.bool("watch")).toBe(true);
    expect(p.flags.int("grace-period")).toBe(5);
  });

  it("accepts -nVALUE, -n=VALUE, --flag=false and global flags before the command", async () => {
    expect((await parse("get", "-ndemo")).flags.string("namespace")).toBe("demo");
    expect((await parse("get", "-n=demo")).flags.string("namespace")).toBe("demo");
    expect((await parse("get", "-w", "--watch=false")).flags.bool("watch")).toBe(false);
    expect((await parse("--config", "/tmp/c", "get")).flags.string("config")).toBe("/tmp/c");
  });

  it("takes a command's own flags before its word, as kubectl does", async () => {
    const p = await parse("-n", "demo", "--output=yaml", "get", "pods");
    expect([p.command?.name, p.positionals]).toEqual(["get", ["pods"]]);
    expect([p.flags.string("namespace"), p.flags.string("output")]).toEqual(["demo", "yaml"]);
    expect((await parse("-Aw", "get")).flags.bool("watch")).toBe(true);
    // Later on the line wins; repeatable flags keep their order.
    expect((await parse("-n", "a", "get", "-n", "b")).flags.string("namespace")).toBe("b");
    expect((await parse("-f", "a.yaml", "get", "-f", "b.yaml")).flags.strings("filename")).toEqual([
      "a.yaml",
      "b.yaml",
    ]);
    // -f is a boolean of logs but a value-taking flag of get: the command word decides.
    expect((await parse("-f", "a.yaml", "get")).flags.strings("filename")).toEqual(["a.yaml"]);
    expect((await parse("-f", "logs", "web")).flags.bool("follow")).toBe(true);
  });

  it("collects repeatable flags in order and takes '-' as a value", async () => {
    expect(
      (await parse("get", "-f", "a.yaml", "-f", "-", "--filename=dir")).flags.strings("filename"),
    ).toEqual(["a.yaml", "-", "dir"]);
  });

  it("uses the bare value of a flag that has one instead of eating the next word", async () => {
    const p = await parse("get", "--cascade", "deploy");
    expect(p.flags.string("cascade")).toBe("background");
    expect(p.positionals).toEqual(["deploy"]);
    expect((await parse("get", "--cascade=orphan")).flags.string("cascade")).toBe("orphan");
  });

  it("treats everything after -- as positional", async () => {
    expect((await parse("get", "--", "-n", "x")).positionals).toEqual(["-n", "x"]);
  });

  it("returns no command for an empty command line", async () => {
    expect((await parse()).command).toBeUndefined();
    expect((await parse("-h")).flags.bool("help")).toBe(true);
    // Command flags with no command after them go unused, as kubectl's do.
    const early = await parse("-n", "x", "--help");
    expect(early.command).toBeUndefined();
    expect(early.flags.bool("help")).toBe(true);
  });

  it("asks only for the flags of the commands it needs", async () => {
    const asked = async (...argv: string[]) => {
      loaded.length = 0;
      await parse(...argv).catch(() => undefined);
      return [...loaded];
    };
    expect(await asked()).toEqual([]);
    expect(await asked("--help")).toEqual([]);
    expect(await asked("logs", "web", "-f")).toEqual(["logs"]);
    // Before the word: the word's command first, then the table in order up to the first that has it.
    expect(await asked("-f", "logs", "web")).toEqual(["logs", "logs"]);
    expect(await asked("-n", "x", "--help")).toEqual(["get"]);
    expect(await asked("-A", "logs")).toEqual(["logs", "get", "logs"]); // then refused: not a flag of logs
  });

  it.each([
    [["frobnicate"], 'unknown command "frobnicate" for "kctl"'],
    [["get", "--bogus"], 'unknown flag: --bogus for "kctl get"'],
    [["get", "-x"], "unknown shorthand flag: 'x' in -x for \"kctl get\""],
    [["-x", "get"], "unknown shorthand flag: 'x' in -x"],
    [["-n", "x", "version"], 'unknown flag: --namespace for "kctl version"'],
    [["-o", "xml", "get"], 'invalid argument "xml" for "-o, --output" flag: must be one of: wide, yaml'],
    [["get", "-n"], "flag needs an argument: -n, --namespace"],
    [["get", "-o", "xml"], 'invalid argument "xml" for "-o, --output" flag: must be one of: wide, yaml'],
    [["get", "--grace-period=soon"], 'invalid argument "soon" for "--grace-period" flag: must be an integer'],
    [["get", "--watch=maybe"], 'invalid argument "maybe" for "-w, --watch" flag: must be true or false'],
    [["get", "-f", ""], 'invalid argument "" for "-f, --filename" flag: must not be empty'],
  ])("refuses %j with a usage error naming the problem", async (argv, message) => {
    await expect(parse(...argv)).rejects.toThrow(UsageError);
    await expect(parse(...argv)).rejects.toThrow(message);
  });
});
