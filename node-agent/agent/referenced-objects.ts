/**
 * The ConfigMaps and Secrets this node's pods name (volumes, projected sources, environment, pull
 * secrets), each followed over its own WatchObjects stream, as the kubelet's watch-based managers
 * do: from when the first pod naming it is on the node until the last such pod is gone or has
 * finished. A read of a followed object answers from that copy while its stream is up and has sent
 * the object's current state, so the volumes' periodic refresh costs no call and a change reaches
 * the volume at the next refresh. Before that (the stream is new, or broken and reconnecting) and
 * for an object no pod here names, a read asks NodeService once (`read`): a pod start never waits
 * on a stream, and a refused or missing object fails the read as before.
 */
import type { KubeObject } from "../../foundation/api/object.js";
import { podReferences } from "../../foundation/api/pod-references.js";
import type { Pod } from "../../proto/gen/api.js";
import type { NodeClient } from "./node-client.js";
import { ObjectMirror } from "./object-mirror.js";

export type ReferencedObjectKind = "ConfigMap" | "Secret";

/** A read through NodeService: the object, undefined when it does not exist; throws otherwise. */
export type ObjectRead = (
  kind: ReferencedObjectKind,
  namespace: string,
  name: string,
) => Promise<KubeObject | undefined>;

interface Followed {
  mirror: ObjectMirror<KubeObject>;
  /** The uids of the pods that name the object. */
  pods: Set<string>;
}

const kinds: readonly ReferencedObjectKind[] = ["ConfigMap", "Secret"];

const keyOf = (kind: ReferencedObjectKind, namespace: string, name: string) => `${kind}/${namespace}/${name}`;

export class ReferencedObjects {
  private readonly followed = new Map<string, Followed>();
  /** Each pod's object keys, by pod uid. */
  private readonly byPod = new Map<string, Set<string>>();

  constructor(
    private readonly client: Pick<NodeClient, "watchObjects">,
    private readonly nodeName: string,
    private readonly read: ObjectRead,
  ) {}

  /** The node's whole set of pods (a stream's SYNC): follows what they name, drops what no pod does. */
  setPods(pods: readonly Pod[]): void {
    const live = new Set(pods.map((p) => p.metadata.uid ?? ""));
    for (const uid of [...this.byPod.keys()]) if (!live.has(uid)) this.forget(uid);
    for (const pod of pods) this.addPod(pod);
  }

  /** A pod landed on the node or changed; a finished pod no longer needs its objects. */
  addPod(pod: Pod): void {
    const uid = pod.metadata.uid ?? "";
    if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") {
      this.forget(uid);
      return;
    }
    const namespace = pod.metadata.namespace ?? "default";
    const keys = new Set<string>();
    for (const kind of kinds) {
      for (const name of podReferences(pod, kind)) {
        const key = keyOf(kind, namespace, name);
        keys.add(key);
        this.follow(key, kind, namespace, name).pods.add(uid);
      }
    }
    for (const key of this.byPod.get(uid) ?? []) if (!keys.has(key)) this.unfollow(key, uid);
    if (keys.size) this.byPod.set(uid, keys);
    else this.byPod.delete(uid);
  }

  removePod(pod: Pod): void {
    this.forget(pod.metadata.uid ?? "");
  }

  /** The object from its followed copy when that is current, else through `read`. */
  async get<T extends KubeObject>(
    kind: ReferencedObjectKind,
    namespace: string,
    name: string,
  ): Promise<T | undefined> {
    const mirror = this.followed.get(keyOf(kind, namespace, name))?.mirror;
    if (mirror?.hasSynced()) return mirror.get(namespace, name) as T | undefined;
    return (await this.read(kind, namespace, name)) as T | undefined;
  }

  /** How many objects are followed now (one stream each). */
  size(): number {
    return this.followed.size;
  }

  stop(): void {
    for (const { mirror } of this.followed.values()) mirror.stop();
    this.followed.clear();
    this.byPod.clear();
  }

  private follow(key: string, kind: ReferencedObjectKind, namespace: string, name: string): Followed {
    let f = this.followed.get(key);
    if (!f) {
      const mirror = new ObjectMirror<KubeObject>(this.client, this.nodeName, kind, { namespace, name });
      f = { mirror, pods: new Set() };
      this.followed.set(key, f);
      mirror.start();
    }
    return f;
  }

  private unfollow(key: string, uid: string): void {
    const f = this.followed.get(key);
    if (!f) return;
    f.pods.delete(uid);
    if (f.pods.size) return;
    f.mirror.stop();
    this.followed.delete(key);
  }

  private forget(uid: string): void {
    for (const key of this.byPod.get(uid) ?? []) this.unfollow(key, uid);
    this.byPod.delete(uid);
  }
}
