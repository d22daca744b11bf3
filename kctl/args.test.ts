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
const table = new Map([["get", get]]);
const parse = (...argv: string[]) => parseCommandLine(argv, table, globals);

describe("parseCommandLine", () => {
  it("reads the command, positionals and every flag form", () => {
    const p = parse("get", "pods", "-n", "demo", "web", "--output=yaml", "-Aw", "--grace-period", "5");
    expect(p.command?.name).toBe("get");
    expect(p.positionals).toEqual(["pods", "web"]);
    expect(p.flags.string("namespace")).toBe("demo");
    expect(p.flags.string("output")).toBe("yaml");
    expect(p.flags.bool("all-namespaces")).toBe(true);
    expect(p.flags.bool("watch")).toBe(true);
    expect(p.flags.int("grace-period")).toBe(5);
  });

  it("accepts -nVALUE, -n=VALUE, --flag=false and global flags before the command", () => {
    expect(parse("get", "-ndemo").flags.string("namespace")).toBe("demo");
    expect(parse("get", "-n=demo").flags.string("namespace")).toBe("demo");
    expect(parse("get", "-w", "--watch=false").flags.bool("watch")).toBe(false);
    expect(parse("--config", "/tmp/c", "get").flags.string("config")).toBe("/tmp/c");
  });

  it("collects repeatable flags in order and takes '-' as a value", () => {
    expect(parse("get", "-f", "a.yaml", "-f", "-", "--filename=dir").flags.strings("filename")).toEqual([
      "a.yaml",
      "-",
      "dir",
    ]);
  });

  it("uses the bare value of a flag that has one instead of eating the next word", () => {
    const p = parse("get", "--cascade", "deploy");
    expect(p.flags.string("cascade")).toBe("background");
    expect(p.positionals).toEqual(["deploy"]);
    expect(parse("get", "--cascade=orphan").flags.string("cascade")).toBe("orphan");
  });

  it("treats everything after -- as positional", () => {
    expect(parse("get", "--", "-n", "x").positionals).toEqual(["-n", "x"]);
  });

  it("returns no command for an empty command line", () => {
    expect(parse().command).toBeUndefined();
    expect(parse("-h").flags.bool("help")).toBe(true);
  });

  it.each([
    [["frobnicate"], 'unknown command "frobnicate" for "kctl"'],
    [["get", "--bogus"], 'unknown flag: --bogus for "kctl get"'],
    [["get", "-x"], "unknown shorthand flag: 'x' in -x for \"kctl get\""],
    [["-n", "x", "get"], "unknown shorthand flag: 'n' in -n"],
    [["get", "-n"], "flag needs an argument: -n, --namespace"],
    [["get", "-o", "xml"], 'invalid argument "xml" for "-o, --output" flag: must be one of: wide, yaml'],
    [["get", "--grace-period=soon"], 'invalid argument "soon" for "--grace-period" flag: must be an integer'],
    [["get", "--watch=maybe"], 'invalid argument "maybe" for "-w, --watch" flag: must be true or false'],
    [["get", "-f", ""], 'invalid argument "" for "-f, --filename" flag: must not be empty'],
  ])("refuses %j with a usage error naming the problem", (argv, message) => {
    expect(() => parse(...argv)).toThrow(UsageError);
    expect(() => parse(...argv)).toThrow(message);
  });
});
