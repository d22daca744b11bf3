/**
 * The etcd members of a lab with several control planes (kctl/lab/ha-components.ts): etcdctl run
 * on a lab host with a control plane's etcd client certificate, a member's status as it sees
 * itself (revision, raft index, whether it leads), its Prometheus metrics, its pid, and which
 * control plane holds a leader-election lock.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { controlPlaneOn } from "../../kctl/lab/ha-components.js";
import { readLabState } from "../../kctl/lab/lab-state.js";
import { labContext } from "../../kctl/lab/lab-up.js";
import type { RunResult } from "./kctl-process.js";
import type { LabCluster } from "./lab-cluster.js";

export const ETCD_CLIENT_PORT = 2379;

/** The state dir of the control plane on `node` (its etcd data, pid file and pki). */
export const controlPlaneState = (lab: LabCluster, node: string): string =>
  labContext(lab.state).stateDirOf(controlPlaneOn(node));

export const memberEndpoint = (lab: LabCluster, node: string): string => {
  const host = lab.state.nodes.find((n) => n.name === node);
  if (!host) throw new Error(`no host ${node} in lab ${lab.state.name}`);
  return `https://${host.address}:${ETCD_CLIENT_PORT}`;
};

function clientTls(lab: LabCluster, node: string): { ca: string; cert: string; key: string } {
  const pki = join(controlPlaneState(lab, node), "pki");
  return {
    ca: join(pki, "etcd", "ca.crt"),
    cert: join(pki, "apiserver-etcd-client.crt"),
    key: join(pki, "apiserver-etcd-client.key"),
  };
}

/** Where etcdctl runs: on a lab host, with the etcd client certificate of the control plane on `certsOf`. */
export interface EtcdctlPlace {
  on: string;
  certsOf: string;
}

/** etcdctl against `endpoints`, run as `place` says. */
export function etcdctl(
  lab: LabCluster,
  place: EtcdctlPlace,
  endpoints: readonly string[],
  ...args: string[]
) {
  const tls = clientTls(lab, place.certsOf);
  return lab.onNode(
    place.on,
    "env",
    "ETCDCTL_API=3",
    "etcdctl",
    `--endpoints=${endpoints.join(",")}`,
    `--cacert=${tls.ca}`,
    `--cert=${tls.cert}`,
    `--key=${tls.key}`,
    "--command-timeout=3s",
    ...args,
  );
}

export interface MemberStatus {
  revision: number;
  raftIndex: number;
  leader: boolean;
}

/**
 * `etcdctl endpoint status` of one member, from control plane host `from`; undefined when it does not answer. Read as
 * `-w fields` because member ids are 64-bit and would lose digits as JSON numbers.
 */
export async function memberStatus(
  lab: LabCluster,
  from: string,
  member: string,
): Promise<MemberStatus | undefined> {
  const place = { on: from, certsOf: from };
  const res: RunResult = await etcdctl(
    lab,
    place,
    [memberEndpoint(lab, member)],
    "endpoint",
    "status",
    "-w",
    "fields",
  );
  if (res.code !== 0) return undefined;
  const field = (name: string) => new RegExp(`^"${name}" : (\\S+)$`, "m").exec(res.stdout)?.[1];
  const [revision, raftIndex, id, leader] = ["Revision", "RaftIndex", "MemberID", "Leader"].map(field);
  if (revision === undefined || raftIndex === undefined) return undefined;
  return {
    revision: Number(revision),
    raftIndex: Number(raftIndex),
    leader: id !== undefined && id === leader,
  };
}

/** The member's Prometheus metrics (its client port serves them), read from `from`; "" when it does not answer. */
export async function memberMetrics(lab: LabCluster, from: string, member: string): Promise<string> {
  const tls = clientTls(lab, from);
  const res = await lab.onNode(
    from,
    "curl",
    "-sf",
    "--max-time",
    "5",
    "--cacert",
    tls.ca,
    "--cert",
    tls.cert,
    "--key",
    tls.key,
    `${memberEndpoint(lab, member)}/metrics`,
  );
  return res.code === 0 ? res.stdout : "";
}

/** The pid of the etcd member the control plane on `node` runs now (it records it beside the data dir). */
export async function etcdPid(lab: LabCluster, node: string): Promise<number> {
  const file = join(controlPlaneState(lab, node), "etcd.pid");
  const pid = Number((await readFile(file, "utf8")).trim());
  if (!pid) throw new Error(`${file} holds no pid`);
  return pid;
}

/** The endpoints of every member: one per control plane host (node1..nodeK). */
export const memberEndpoints = (lab: LabCluster, controlPlanes: number): string[] =>
  lab.state.nodes.slice(0, controlPlanes).map((n) => memberEndpoint(lab, n.name));

/**
 * The lab component (e.g. `controlplane-node2`) that holds leader-election lock `lock`
 * (`kube-controller-manager`, `kube-scheduler`): its identity is `hostname_pid`.
 */
export async function leaderOf(
  lab: LabCluster,
  place: EtcdctlPlace,
  endpoints: readonly string[],
  lock: string,
): Promise<string> {
  const res = await etcdctl(
    lab,
    place,
    endpoints,
    "get",
    `/kctl/leader-election/${lock}`,
    "--print-value-only",
  );
  const pid = Number(res.stdout.trim().split("_").pop());
  const record = (await readLabState(lab.state.labDir))?.processes.find((p) => p.pid === pid);
  if (!record) throw new Error(`no lab component has pid ${pid} (leader of ${lock}: "${res.stdout.trim()}")`);
  return record.name;
}
