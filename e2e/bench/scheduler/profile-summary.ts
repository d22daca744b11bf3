/**
 * Summarises a V8 CPU profile written by `scheduler-bench --profile DIR`: self time by file and by
 * function, and inclusive time by function, as shares of the sampled time. When the benchmark left
 * a `pod-phase.<pid>.json` beside the profile, only samples inside the pod phase count, so startup
 * and node registration do not dilute the figures.
 *
 *   node dist/e2e/bench/scheduler/profile-summary.js DIR/CPU.….cpuprofile [--top 40] [--match TEXT]
 *
 * `--match` keeps the inclusive list to functions whose name or file contains TEXT.
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { parseArgs } from "node:util";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface Window {
  startUs: number;
  endUs: number;
}

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "40" }, match: { type: "string" } },
});
const file = positionals[0];
if (!file) {
  process.stderr.write("usage: profile-summary.js PROFILE.cpuprofile [--top N] [--match TEXT]\n");
  process.exit(2);
}
const top = Number(args.top);

const profile = JSON.parse(await readFile(file, "utf8")) as CpuProfile;
const window = await podPhase(file);

// Paths inside dist/ and node_modules/ are what tell two frames apart; the rest is the checkout's.
const where = (url: string): string => url.replace(/.*\/(dist|node_modules)\//, "$1/");
const frameName = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || "(anonymous)"} ${where(url)}:${lineNumber}`;
};

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map<number, number>();
for (const n of profile.nodes) for (const child of n.children ?? []) parentOf.set(child, n.id);

const selfByNode = new Map<number, number>();
let total = 0;
let at = profile.startTime;
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0;
  at += dt;
  if (window && (at < window.startUs || at > window.endUs)) return;
  selfByNode.set(id, (selfByNode.get(id) ?? 0) + dt);
  total += dt;
});

const byFile = new Map<string, number>();
const byFunction = new Map<string, number>();
const inclusive = new Map<string, number>();
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
for (const [id, t] of selfByNode) {
  const node = byId.get(id)!;
  add(byFile, where(node.callFrame.url) || node.callFrame.functionName, t);
  add(byFunction, frameName(node), t);
  // A recursive function counts once per sample.
  const onStack = new Set<string>();
  for (let cur: number | undefined = id; cur !== undefined; cur = parentOf.get(cur)) {
    onStack.add(frameName(byId.get(cur)!));
  }
  for (const name of onStack) add(inclusive, name, t);
}

const print = (title: string, m: Map<string, number>, keep: (k: string) => boolean = () => true) => {
  process.stdout.write(`== ${title}\n`);
  const rows = [...m].filter(([k]) => keep(k)).sort((a, b) => b[1] - a[1]);
  for (const [k, v] of rows.slice(0, top)) {
    process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  }
};

process.stdout.write(
  `${(total / 1e6).toFixed(1)} s sampled${window ? " in the pod phase" : " (whole profile)"}\n`,
);
print("self time by file", byFile);
print("self time by function", byFunction);
print("inclusive time", inclusive, (k) => !args.match || k.includes(args.match));

async function podPhase(profilePath: string): Promise<Window | undefined> {
  // V8 names profiles CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile.
  const pid = basename(profilePath).split(".")[3];
  try {
    return JSON.parse(await readFile(join(dirname(profilePath), `pod-phase.${pid}.json`), "utf8")) as Window;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
