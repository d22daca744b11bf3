/**
 * netns-connect, driven as the agent drives it: against servers in a network namespace this test
 * makes, bound to loopback only there (unreachable from the host's own loopback).
 * Needs root; the namespace and servers are removed in afterAll even when a test fails.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeBuildPath } from "../node-agent/util/native-build.js";

const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("native/netns-connect.test.ts: SKIPPED, needs root (network namespaces)");

const helper = nativeBuildPath("netns-connect");
const ns = `kctl-nc-${process.pid}`;
const netnsPath = `/run/netns/${ns}`;
const servers: ChildProcess[] = [];

/** An echo server inside the namespace on `host:port`; resolves once it listens. */
async function echoServer(host: string, port: number): Promise<void> {
  const code = `require("net").createServer((s) => s.pipe(s)).listen(${port}, "${host}", () => console.log("up"))`;
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", code], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  servers.push(child);
  await once(child.stdout!, "data");
}

function run(port: number, input: Buffer): Promise<{ code: number | null; out: Buffer; err: string }> {
  const child = spawn(helper, [netnsPath, String(port)], { stdio: ["pipe", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let err = "";
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  child.stdin.on("error", () => undefined);
  child.stdin.end(input);
  return new Promise((resolve) =>
    child.on("close", (code) => resolve({ code, out: Buffer.concat(out), err })),
  );
}

describe.skipIf(!isRoot)("netns-connect", () => {
  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", ns]);
    execFileSync("ip", ["-n", ns, "link", "set", "lo", "up"]);
    await echoServer("127.0.0.1", 8080);
    await echoServer("::1", 8081);
  });
  afterAll(() => {
    for (const s of servers) s.kill("SIGKILL");
    execFileSync("ip", ["netns", "delete", ns]);
  });

  it("relays both ways to a server bound to 127.0.0.1 in the namespace, passing the half-close on", async () => {
    const input = randomBytes(8 * 1024 * 1024);
    const { code, out, err } = await run(8080, input);
    expect(err).toBe("");
    expect(code).toBe(0);
    expect(out.equals(input)).toBe(true);
  });

  it("falls back to ::1 when nothing listens on 127.0.0.1", async () => {
    const { code, out } = await run(8081, Buffer.from("hello v6"));
    expect(code).toBe(0);
    expect(out.toString()).toBe("hello v6");
  });

  it("exits 2 naming both refusals when nothing listens on the port", async () => {
    const { code, err } = await run(8082, Buffer.alloc(0));
    expect(code).toBe(2);
    expect(err).toMatch(
      /localhost:8082.*IPv4: connect: Connection refused IPv6: connect: Connection refused/,
    );
  });

  it("refuses a port out of range and a path that is no namespace, before connecting", async () => {
    expect((await run(0, Buffer.alloc(0))).code).toBe(1);
    const child = spawn(helper, ["/etc/hostname", "80"], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const [code] = await once(child, "close");
    expect(code).toBe(1);
    expect(err).toMatch(/setns \/etc\/hostname/);
  });
});
