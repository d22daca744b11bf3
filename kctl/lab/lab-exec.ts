/**
 * `lab exec NODE -- CMD`: runs a command in a lab host's network namespace with the caller's stdio,
 * and reports its exit status (128+signal when it was killed, like a shell).
 */
import { spawn } from "node:child_process";
import { constants } from "node:os";
import { LabError } from "./errors.js";
import { validateLabName } from "./lab-names.js";
import { type LabTarget, locateLabDir, readLabState } from "./lab-state.js";

export interface LabExecOptions extends LabTarget {
  node: string;
  argv: string[];
}

/** The namespace of `node` in lab `target`; throws NotFound naming what exists instead. */
export async function nodeNamespace(target: LabTarget, node: string): Promise<string> {
  validateLabName(target.name);
  const state = await readLabState(await locateLabDir(target));
  if (!state)
    throw new LabError(
      "NotFound",
      `lab ${target.name} does not exist; create it with "kctl lab up --name ${target.name}"`,
    );
  const found = state.nodes.find((n) => n.name === node);
  if (!found) {
    const names = state.nodes.map((n) => n.name).join(", ") || "none";
    throw new LabError("NotFound", `NODE: lab ${target.name} has no node "${node}" (its nodes: ${names})`);
  }
  return found.namespace;
}

export async function labExec(opts: LabExecOptions): Promise<number> {
  if (opts.argv.length === 0) throw new LabError("InvalidArgument", "CMD: no command given after --");
  const ns = await nodeNamespace(opts, opts.node);
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", ns, ...opts.argv], { stdio: "inherit" });
    child.once("error", (err) =>
      reject(new LabError("CommandFailed", `cannot run ip netns exec: ${err.message}`)),
    );
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}
