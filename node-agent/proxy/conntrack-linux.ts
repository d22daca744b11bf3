/**
 * Deletes conntrack entries of UDP flows to endpoints that left a service. UDP has no end of
 * connection, so without this a client that keeps sending keeps reaching the removed endpoint
 * through its existing NAT entry (kube-proxy does the same).
 */
import { inNetns, runTool } from "../network/commands-linux.js";
import { ProxyError } from "./errors.js";

/** UDP flows whose original destination was `origDst:origPort` (any address when undefined) and that were NATed to `endpoint`. */
export interface StaleFlow {
  readonly origDst: string | undefined;
  readonly origPort: number;
  readonly endpointIP: string;
  readonly endpointPort: number;
}

export function conntrackDeleteArgs(f: StaleFlow): string[] {
  const dst = f.origDst === undefined ? [] : ["--orig-dst", f.origDst];
  return [
    "conntrack",
    "-D",
    "-p",
    "udp",
    ...dst,
    "--orig-port-dst",
    String(f.origPort),
    "--reply-src",
    f.endpointIP,
    "--reply-port-src",
    String(f.endpointPort),
  ];
}

/** Deletes the entries of every flow in `flows` inside `netns`; none matching is not an error. */
export async function deleteStaleFlows(
  netns: string | undefined,
  flows: readonly StaleFlow[],
): Promise<void> {
  await Promise.all(
    flows.map(async (f) => {
      const argv = [...inNetns(netns), ...conntrackDeleteArgs(f)];
      const res = await runTool(argv);
      // conntrack exits 1 when nothing matched ("0 flow entries have been deleted").
      if (res.code !== 0 && !/0 flow entries/.test(res.stderr)) {
        throw new ProxyError(
          "CommandFailed",
          `${argv.join(" ")}: ${res.stderr.trim() || `exit code ${res.code}`}`,
        );
      }
    }),
  );
}
