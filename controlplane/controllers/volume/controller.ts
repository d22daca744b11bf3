/**
 * The PersistentVolume controller (upstream's pv-controller plus the local-path provisioner's
 * control-plane half). One `sync(key)` per claim (`claim:<ns>/<name>`) or volume (`volume:<name>`):
 *
 * - a claim naming no class gets the default class (retroactive default assignment, upstream 1.28+);
 * - an unbound claim binds to a volume pre-bound to it, else to the smallest Available volume of its
 *   class that fits, else, for a `kctl.io/local-path` class, once the scheduler has written
 *   `volume.kubernetes.io/selected-node`, gets a new PV on that node (`pvc-<uid>`);
 * - a bound claim reports Bound with its volume's capacity, or Lost when the volume is gone;
 * - a volume is Available without a claim, Bound with one, Released once its claim is gone, and then
 *   deleted (reclaim Delete) or kept (Retain).
 *
 * It never touches nodes' disks: agents make and remove the directories. Handlers only enqueue.
 */

import { isApiError } from "../../../foundation/api/errors.js";
import { objectKey } from "../../../foundation/api/object.js";
import { quantityValue } from "../../../foundation/api/quantity.js";
import { resourceForKind } from "../../../foundation/api/resources.js";
import type { Clock } from "../../../foundation/util/clock.js";
import { rfc3339 } from "../../../foundation/util/time.js";
import type {
  Node,
  PersistentVolume,
  PersistentVolumeClaim,
  PersistentVolumeClaimStatus,
  PersistentVolumeStatus,
  StorageClass,
} from "../../../proto/gen/api.js";
import type { ControllerClient } from "../../client/controller-client.js";
import type { EventRecorder } from "../../client/events.js";
import type { DeepReadonly, EventHandler, Lister } from "../../client/index.js";
import {
  defaultClassAnnotation,
  localPathProvisioner,
  localStorageDirAnnotation,
  localVolumeFor,
  selectedNodeAnnotation,
  volumeNameFor,
} from "./local-path.js";

export const claimsResource = resourceForKind("v1", "PersistentVolumeClaim")!;
export const volumesResource = resourceForKind("v1", "PersistentVolume")!;
export const classesResource = resourceForKind("storage.k8s.io/v1", "StorageClass")!;
export const nodesResource = resourceForKind("v1", "Node")!;

type Claim = DeepReadonly<PersistentVolumeClaim>;
type Volume = DeepReadonly<PersistentVolume>;

export interface VolumeControllerOptions {
  claims: Lister<PersistentVolumeClaim>;
  volumes: Lister<PersistentVolume>;
  classes: Lister<StorageClass>;
  nodes: Lister<Node>;
  client: ControllerClient;
  recorder: EventRecorder;
  clock: Clock;
  queue: { add(key: string): void };
}

const claimKey = (c: { metadata: { namespace?: string; name?: string } }) => `claim:${objectKey(c)}`;
const volumeKey = (v: { metadata: { name?: string } }) => `volume:${v.metadata.name}`;

/** The default StorageClass: the newest of those annotated default, as upstream picks. */
export function defaultClass(
  classes: readonly DeepReadonly<StorageClass>[],
): DeepReadonly<StorageClass> | undefined {
  return classes
    .filter((c) => c.metadata.annotations?.[defaultClassAnnotation] === "true")
    .sort((a, b) =>
      (b.metadata.creationTimestamp ?? "").localeCompare(a.metadata.creationTimestamp ?? ""),
    )[0];
}

const requestOf = (claim: Claim) => quantityValue(claim.spec?.resources?.requests?.storage ?? "0");

export class VolumeController {
  constructor(private readonly o: VolumeControllerOptions) {}

  readonly claimHandler: EventHandler<PersistentVolumeClaim> = {
    onAdd: (c) => this.o.queue.add(claimKey(c)),
    onUpdate: (_old, c) => this.o.queue.add(claimKey(c)),
    onDelete: (c) => {
      // Its volume is released.
      if (c.spec?.volumeName) this.o.queue.add(`volume:${c.spec.volumeName}`);
      for (const v of this.o.volumes.list())
        if (v.spec?.claimRef?.uid === c.metadata.uid) this.o.queue.add(volumeKey(v));
    },
  };

  readonly volumeHandler: EventHandler<PersistentVolume> = {
    onAdd: (v) => this.volumeChanged(v),
    onUpdate: (_old, v) => this.volumeChanged(v),
    onDelete: (v) => this.volumeChanged(v),
  };

  readonly classHandler: EventHandler<StorageClass> = {
    // A new default class fills the claims that waited for one.
    onAdd: () => {
      for (const c of this.o.claims.list())
        if (c.spec?.storageClassName === undefined) this.o.queue.add(claimKey(c));
    },
  };

  private volumeChanged(v: Volume): void {
    this.o.queue.add(volumeKey(v));
    const ref = v.spec?.claimRef;
    if (ref?.name) this.o.queue.add(`claim:${ref.namespace}/${ref.name}`);
  }

  async sync(key: string): Promise<void> {
    if (key.startsWith("claim:")) return this.syncClaim(key.slice("claim:".length));
    if (key.startsWith("volume:")) return this.syncVolume(key.slice("volume:".length));
  }

  private async syncClaim(key: string): Promise<void> {
    const claim = this.o.claims.get(key);
    if (!claim || claim.metadata.deletionTimestamp) return;
    if (claim.spec?.storageClassName === undefined) {
      const def = defaultClass(this.o.classes.list());
      if (def) {
        await this.updateClaim(claim, (c) => {
          c.spec!.storageClassName = def.metadata.name ?? "";
        });
        return;
      }
    }
    const volumeName = claim.spec?.volumeName;
    if (volumeName) return this.syncBoundClaim(claim, volumeName);
    const volume = this.matchingVolume(claim);
    if (volume) {
      if (!volume.spec?.claimRef) {
        const copy = structuredClone(volume) as PersistentVolume;
        copy.spec!.claimRef = claimRefOf(claim);
        await this.o.client.update(volumesResource, copy);
      }
      await this.updateClaim(claim, (c) => {
        c.spec!.volumeName = volume.metadata.name ?? "";
      });
      return;
    }
    await this.provision(claim);
  }

  private async syncBoundClaim(claim: Claim, volumeName: string): Promise<void> {
    const volume = this.o.volumes.get(volumeName);
    if (!volume) {
      if (claim.status?.phase === "Bound") {
        this.o.recorder.event(
          claim,
          "Warning",
          "ClaimLost",
          "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
        );
        await this.writeClaimStatus(claim, { phase: "Lost" });
      }
      return;
    }
    const ref = volume.spec?.claimRef;
    if (!ref) {
      const copy = structuredClone(volume) as PersistentVolume;
      copy.spec!.claimRef = claimRefOf(claim);
      await this.o.client.update(volumesResource, copy);
      return;
    }
    if (ref.uid && ref.uid !== claim.metadata.uid) {
      this.o.recorder.event(
        claim,
        "Warning",
        "FailedBinding",
        `volume "${volumeName}" already bound to a different claim.`,
      );
      return;
    }
    const status: PersistentVolumeClaimStatus = {
      phase: "Bound",
      accessModes: [...(volume.spec?.accessModes ?? [])],
      capacity: { ...volume.spec?.capacity },
    };
    if (claim.status?.phase !== "Bound") {
      await this.writeClaimStatus(claim, status);
      return;
    }
    if (
      JSON.stringify({ ...claim.status, conditions: undefined }) !==
      JSON.stringify({ ...status, conditions: undefined })
    )
      await this.writeClaimStatus(claim, status);
  }

  /** A volume pre-bound to `claim`, else the smallest Available one of its class that fits. */
  private matchingVolume(claim: Claim): Volume | undefined {
    const all = this.o.volumes.list();
    const ns = claim.metadata.namespace;
    const prebound = all.find(
      (v) =>
        v.spec?.claimRef?.name === claim.metadata.name &&
        v.spec?.claimRef?.namespace === ns &&
        (!v.spec?.claimRef?.uid || v.spec.claimRef.uid === claim.metadata.uid),
    );
    if (prebound) return prebound;
    const modes = claim.spec?.accessModes ?? [];
    return all
      .filter(
        (v) =>
          !v.spec?.claimRef &&
          !v.metadata.deletionTimestamp &&
          (v.spec?.storageClassName ?? "") === (claim.spec?.storageClassName ?? "") &&
          quantityValue(v.spec?.capacity?.storage ?? "0") >= requestOf(claim) &&
          modes.every((m) => v.spec?.accessModes?.includes(m)),
      )
      .sort(
        (a, b) =>
          quantityValue(a.spec?.capacity?.storage ?? "0") - quantityValue(b.spec?.capacity?.storage ?? "0"),
      )[0];
  }

  /** For a local-path class: the PV on the node the scheduler selected; otherwise says why it waits. */
  private async provision(claim: Claim): Promise<void> {
    const className = claim.spec?.storageClassName;
    if (!className) {
      this.pending(
        claim,
        "Normal",
        "FailedBinding",
        "no persistent volumes available for this claim and no storage class is set",
      );
      return;
    }
    const sc = this.o.classes.get(className);
    if (!sc) {
      this.pending(
        claim,
        "Warning",
        "ProvisioningFailed",
        `storageclass.storage.k8s.io "${className}" not found`,
      );
      return;
    }
    if (sc.provisioner !== localPathProvisioner) {
      this.pending(
        claim,
        "Normal",
        "ExternalProvisioning",
        `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
      );
      return;
    }
    const nodeName = claim.metadata.annotations?.[selectedNodeAnnotation];
    if (!nodeName) {
      if (sc.volumeBindingMode === "WaitForFirstConsumer")
        this.pending(
          claim,
          "Normal",
          "WaitForFirstConsumer",
          "waiting for first consumer to be created before binding",
        );
      else this.pending(claim, "Warning", "ProvisioningFailed", "configuration error, no node was specified");
      return;
    }
    const node = this.o.nodes.get(nodeName);
    if (!node?.metadata.annotations?.[localStorageDirAnnotation]) {
      this.pending(
        claim,
        "Warning",
        "ProvisioningFailed",
        node
          ? `node "${nodeName}" has no local storage directory (annotation ${localStorageDirAnnotation})`
          : `selected node "${nodeName}" not found`,
      );
      return;
    }
    const volume = localVolumeFor(claim, node, sc);
    try {
      await this.o.client.create(volumesResource, "", volume);
      this.o.recorder.event(
        claim,
        "Normal",
        "ProvisioningSucceeded",
        `Successfully provisioned volume ${volume.metadata.name} on node ${nodeName}`,
      );
    } catch (err) {
      if (!isApiError(err, "AlreadyExists")) {
        this.o.recorder.event(claim, "Warning", "ProvisioningFailed", (err as Error).message);
        throw err;
      }
    }
    await this.updateClaim(claim, (c) => {
      c.spec!.volumeName = volumeNameFor(claim);
    });
  }

  /** Reports why `claim` stays Pending, once per reason (events dedupe in the recorder too). */
  private pending(claim: Claim, type: "Normal" | "Warning", reason: string, message: string): void {
    this.o.recorder.event(claim, type, reason, message);
  }

  private async syncVolume(name: string): Promise<void> {
    const volume = this.o.volumes.get(name);
    if (!volume || volume.metadata.deletionTimestamp) return;
    const ref = volume.spec?.claimRef;
    if (!ref) return this.setVolumePhase(volume, "Available");
    const claim = this.o.claims.get(`${ref.namespace}/${ref.name}`);
    const sameClaim = claim && (!ref.uid || ref.uid === claim.metadata.uid);
    if (sameClaim) {
      return this.setVolumePhase(volume, claim.spec?.volumeName === name ? "Bound" : "Available");
    }
    // Its claim is gone: the volume is released, and reclaimed as its policy says.
    if (volume.status?.phase !== "Released" && volume.status?.phase !== "Failed")
      await this.setVolumePhase(volume, "Released");
    if (volume.spec?.persistentVolumeReclaimPolicy === "Delete") {
      try {
        await this.o.client.delete(
          volumesResource,
          "",
          name,
          volume.metadata.uid ? { uid: volume.metadata.uid } : {},
        );
        this.o.recorder.event(
          volume,
          "Normal",
          "VolumeDelete",
          `volume ${name} deleted: its claim is gone and its reclaim policy is Delete`,
        );
      } catch (err) {
        if (!isApiError(err, "NotFound")) throw err;
      }
    }
  }

  private async setVolumePhase(volume: Volume, phase: string): Promise<void> {
    if (volume.status?.phase === phase) return;
    const copy = structuredClone(volume) as PersistentVolume;
    const status: PersistentVolumeStatus = { phase, lastPhaseTransitionTime: rfc3339(this.o.clock.now()) };
    copy.status = status;
    await this.o.client.updateStatus(volumesResource, copy);
  }

  private async updateClaim(claim: Claim, change: (c: PersistentVolumeClaim) => void): Promise<void> {
    const copy = structuredClone(claim) as PersistentVolumeClaim;
    copy.spec ??= {};
    change(copy);
    await this.o.client.update(claimsResource, copy);
  }

  private async writeClaimStatus(claim: Claim, status: PersistentVolumeClaimStatus): Promise<void> {
    const copy = structuredClone(claim) as PersistentVolumeClaim;
    copy.status = status;
    await this.o.client.updateStatus(claimsResource, copy);
  }
}

function claimRefOf(claim: Claim) {
  return {
    kind: "PersistentVolumeClaim",
    apiVersion: "v1",
    namespace: claim.metadata.namespace ?? "",
    name: claim.metadata.name ?? "",
    uid: claim.metadata.uid ?? "",
  };
}
