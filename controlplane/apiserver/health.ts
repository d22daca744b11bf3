/**
 * `/healthz`, `/readyz` and `/livez` as upstream answers them: each named check runs (with a time
 * limit), `ok` when all pass, else 500 listing them (`[+]etcd ok`, `[-]etcd failed: reason
 * withheld`); `?verbose` lists them on success too. Reasons stay out of the body, which needs no
 * credentials; they go to the trace.
 */
import type { ServerResponse } from "node:http";
import { tracer } from "../../foundation/util/trace.js";

const trace = tracer("apiserver");

/** Resolves when healthy; rejects (or exceeds the time limit) when not. */
export type HealthCheck = () => Promise<void>;

const limitMs = 5_000;

async function passes(name: string, check: HealthCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      check(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer in ${limitMs} ms`)), limitMs);
      }),
    ]);
    return true;
  } catch (err) {
    trace(`health check ${name} failed:`, String(err));
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function serveHealth(
  res: ServerResponse,
  endpoint: "healthz" | "readyz" | "livez",
  checks: Readonly<Record<string, HealthCheck>>,
  verbose: boolean,
): Promise<void> {
  const results = await Promise.all(
    Object.entries({ ping: async () => {}, ...checks }).map(async ([name, check]) => ({
      name,
      ok: await passes(name, check),
    })),
  );
  const ok = results.every((r) => r.ok);
  res.writeHead(ok ? 200 : 500, { "Content-Type": "text/plain; charset=utf-8" });
  if (ok && !verbose) {
    res.end("ok");
    return;
  }
  const lines = results.map((r) => (r.ok ? `[+]${r.name} ok` : `[-]${r.name} failed: reason withheld`));
  res.end(`${lines.join("\n")}\n${endpoint} check ${ok ? "passed" : "failed"}\n`);
}
