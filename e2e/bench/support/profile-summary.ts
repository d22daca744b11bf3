/**
 * What a CPU profile (support/cpu-profile.ts) spent its samples on, optionally cut to a window on
 * the monotonic clock the benchmarks record (µs, as `process.hrtime`; V8's sample times use it too):
 * shares of the busy samples (not idle) by where the code lives (a package, a Node module, a folder
 * of this project, or V8's own: garbage collection, program) and the top functions by self time.
 *
 *   node dist/e2e/bench/support/profile-summary.js <file.cpuprofile> [fromUs toUs] [top=25]
 */
import { readFile } from "node:fs/promises";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, a Node module, a project folder, or V8 itself. */
export function placeOf(frame: ProfileNode["callFrame"]): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native)";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith("node:"))
    return url
      .replace(/^node:(internal\/)?/, "node:")
      .split("/")
      .slice(0, 2)
      .join("/");
  const own = /\/dist\/([^/]+\/[^/]+)\//.exec(url);
  return own ? own[1]! : url;
}

export function summarize(profile: Profile, from = -Infinity, to = Infinity, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfByFunction = new Map<string, number>();
  const selfByPlace = new Map<string, number>();
  let t = profile.startTime;
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t > to) continue;
    const frame = byId.get(profile.samples[i]!)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busy++;
    const where = placeOf(frame);
    const fn = `${frame.functionName || "(anonymous)"} ${where}:${frame.lineNumber + 1}`;
    selfByFunction.set(fn, (selfByFunction.get(fn) ?? 0) + 1);
    selfByPlace.set(where, (selfByPlace.get(where) ?? 0) + 1);
  }
  const shares = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, n]) => ({ name, percent: Math.round((n * 1000) / busy) / 10 }));
  return { busySamples: busy, byPlace: shares(selfByPlace), byFunction: shares(selfByFunction) };
}

if (process.argv[1]?.endsWith("profile-summary.js")) {
  const [file, from, to, top] = process.argv.slice(2);
  if (!file) throw new Error("usage: profile-summary.js <file.cpuprofile> [fromUs toUs] [top]");
  const profile = JSON.parse(await readFile(file, "utf8")) as Profile;
  const summary = summarize(
    profile,
    from ? Number(from) : -Infinity,
    to ? Number(to) : Infinity,
    Number(top ?? 25),
  );
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}
