/**
 * StatefulSets with local-path volumes on a three-host lab: a 3-replica set behind a headless
 * Service comes up in order, each pod writing its hostname into its own volume; a deleted pod comes
 * back with its name, on its volume's node, with its data; a rolling update with partition 2 only
 * updates web-2; bad input is refused (no serviceName) or reported (a claim bigger than any node).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { downLab, eventually, isRoot, type LabCluster, startLabCluster } from "./support/lab-cluster.js";

interface PodJson {
  metadata: {
    name: string;
    uid: string;
    creationTimestamp: string;
    labels?: Record<string, string>;
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string; hostname?: string; subdomain?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      lastTransitionTime?: string;
    }[];
  };
}

const ns = "sts";
const statefulSet = (extra = "") => `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
  namespace: ${ns}
spec:
  serviceName: web
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}${extra}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: kctl.local/busybox:debian
        command: ["sh", "-c", "hostname >> /data/boots; exec sleep 3600"]
        volumeMounts: [{name: www, mountPath: /data}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 64Mi}}
`;

const manifests = [
  `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns}\n`,
  `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: ${ns}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80}]
`,
  statefulSet(),
];

describe.skipIf(!isRoot)(
  "StatefulSets with local-path volumes on a three-host lab",
  { timeout: 600_000 },
  () => {
    let lab: LabCluster;
    const getJson = async <T>(...args: string[]): Promise<T> => {
      const res = await lab.kctl("get", ...args, "-n", ns, "-o", "json");
      if (res.code !== 0) throw new Error(res.stderr);
      return JSON.parse(res.stdout) as T;
    };
    const pod = (name: string) => getJson<PodJson>("pod", name);
    const ready = (p: PodJson) =>
      p.status?.phase === "Running" &&
      p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
    const readyPod = (name: string, notUid?: string) =>
      eventually(
        `${name} Running and Ready`,
        async () => {
          const p = await pod(name);
          return ready(p) && p.metadata.uid !== notUid && !p.metadata.deletionTimestamp ? p : undefined;
        },
        // Generous for a shared CI machine: the whole set is Ready in about 30 s on a quiet one.
        240_000,
      );
    const exec = (name: string, ...argv: string[]) => lab.kctl("exec", name, "-n", ns, "--", ...argv);

    beforeAll(async () => {
      lab = await startLabCluster("sts", 3);
      const res = await lab.apply(manifests.join("---\n"));
      expect(res.stderr).toBe("");
    }, 180_000);
    afterAll(downLab(() => lab));

    let first: PodJson[];

    it("brings web-0, web-1, web-2 up in order, each Ready before the next is made, on its own claim", async () => {
      first = [await readyPod("web-0"), await readyPod("web-1"), await readyPod("web-2")];
      for (let i = 1; i < 3; i++) {
        const readyAt = first[i - 1]!.status!.conditions!.find((c) => c.type === "Ready")!
          .lastTransitionTime!;
        expect(Date.parse(first[i]!.metadata.creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(readyAt));
      }
      for (const [i, p] of first.entries()) {
        expect(p.spec).toMatchObject({ hostname: `web-${i}`, subdomain: "web" });
        expect(p.metadata.labels).toMatchObject({
          "statefulset.kubernetes.io/pod-name": `web-${i}`,
          "apps.kubernetes.io/pod-index": String(i),
        });
      }
      const claims = await getJson<{ items: { metadata: { name: string }; status?: { phase?: string } }[] }>(
        "pvc",
      );
      expect(claims.items.map((c) => `${c.metadata.name}=${c.status?.phase}`).sort()).toEqual([
        "www-web-0=Bound",
        "www-web-1=Bound",
        "www-web-2=Bound",
      ]);
      for (let i = 0; i < 3; i++)
        expect((await exec(`web-${i}`, "cat", "/data/boots")).stdout).toBe(`web-${i}\n`);
      const sts = await getJson<{
        status: { readyReplicas: number; currentRevision: string; updateRevision: string };
      }>("statefulset", "web");
      expect(sts.status.readyReplicas).toBe(3);
      expect(sts.status.currentRevision).toBe(sts.status.updateRevision);
    });

    it("brings a deleted web-1 back with its name, on its volume's node, with its data", async () => {
      const before = first[1]!;
      expect((await lab.kctl("delete", "pod", "web-1", "-n", ns)).code).toBe(0);
      const after = await readyPod("web-1", before.metadata.uid);
      expect(after.spec.nodeName).toBe(before.spec.nodeName);
      expect((await exec("web-1", "cat", "/data/boots")).stdout).toBe("web-1\nweb-1\n");
    });

    it("updates only web-2 when the partition is 2", async () => {
      const patch = JSON.stringify({
        spec: {
          updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
          template: { metadata: { annotations: { rollout: "two" } } },
        },
      });
      expect(
        (await lab.kctl("patch", "statefulset", "web", "-n", ns, "--type", "merge", "-p", patch)).stderr,
      ).toBe("");
      const sts = await eventually(
        "a new update revision",
        async () => {
          const s = await getJson<{
            status: { currentRevision: string; updateRevision: string; updatedReplicas: number };
          }>("statefulset", "web");
          return s.status.updateRevision !== s.status.currentRevision && s.status.updatedReplicas === 1
            ? s
            : undefined;
        },
        120_000,
      );
      const web2 = await readyPod("web-2", first[2]!.metadata.uid);
      expect(web2.metadata.labels?.["controller-revision-hash"]).toBe(sts.status.updateRevision);
      for (const name of ["web-0", "web-1"]) {
        expect((await pod(name)).metadata.labels?.["controller-revision-hash"]).toBe(
          sts.status.currentRevision,
        );
      }
      // The pod keeps its volume through the update.
      expect((await exec("web-2", "cat", "/data/boots")).stdout).toBe("web-2\nweb-2\n");
      const status = await lab.kctl("rollout", "status", "statefulset/web", "-n", ns, "--timeout", "60s");
      expect(status.stdout).toContain("partitioned roll out complete: 1 new pods have been updated...");
    });

    // Per-pod DNS through the headless Service: the name each pod keeps across its replacements.
    it("resolves web-0.web to web-0's pod IP from web-1", async () => {
      const web0 = await pod("web-0");
      // The record follows the Endpoints, which may still be catching up with a replaced pod.
      await eventually("web-0.web to resolve to web-0", async () => {
        const res = await exec("web-1", "nslookup", `web-0.web.${ns}.svc.cluster.local`);
        return res.stdout.includes(web0.status!.podIP!) ? true : undefined;
      });
    });

    it("refuses a StatefulSet without serviceName, naming the field", async () => {
      const res = await lab.apply(
        statefulSet()
          .replace("  serviceName: web\n", "")
          .replace("name: web\n  namespace", "name: nameless\n  namespace"),
      );
      expect(res.code).not.toBe(0);
      expect(res.stderr).toContain("spec.serviceName: Required value");
    });

    it("keeps a pod whose claim is bigger than any node Pending, saying why", async () => {
      const res = await lab.apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: huge, namespace: ${ns}}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Pi}}
---
apiVersion: v1
kind: Pod
metadata: {name: huge, namespace: ${ns}}
spec:
  containers: [{name: app, image: kctl.local/busybox:debian, command: [sleep, "3600"]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: huge}}]
`);
      expect(res.stderr).toBe("");
      const condition = await eventually("huge unschedulable", async () => {
        const p = await pod("huge");
        return p.status?.conditions?.find((c) => c.type === "PodScheduled" && c.status === "False");
      });
      expect(condition.message).toContain("3 node(s) did not have enough free storage");
      const claim = await getJson<{ status?: { phase?: string } }>("pvc", "huge");
      expect(claim.status?.phase).toBe("Pending");
    });
  },
);
