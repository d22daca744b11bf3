import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import { revokedKeysType, withRevokedKey } from "../../foundation/bootstrap/node-keys.js";
import type { Secret } from "../../proto/gen/api.js";
import { ObjectCache } from "../client/object-cache.js";
import { revokedKeyCheck } from "./node-revocation.js";

const k1 = `sha256:${"1".repeat(64)}`;
const k2 = `sha256:${"2".repeat(64)}`;

describe("revoked node keys", () => {
  it("adds keys to the list, keeping the stored metadata and earlier keys", () => {
    const first = withRevokedKey(undefined, k1, "n1");
    expect(first.metadata).toEqual({ name: "kctl-revoked-node-keys", namespace: "kube-system" });
    expect(first.data).toEqual({ ["1".repeat(64)]: Buffer.from("n1").toString("base64") });
    const stored = { ...first, metadata: { ...first.metadata, resourceVersion: "7" } };
    const second = withRevokedKey(stored, k2, "n2");
    expect(second.metadata?.resourceVersion).toBe("7");
    expect(Object.keys(second.data ?? {})).toEqual(["1".repeat(64), "2".repeat(64)]);
  });

  it("answers from the Secrets cache, and only for a Secret of its own type", () => {
    const secrets = new ObjectCache<Secret & KubeObject>();
    const revoked = revokedKeyCheck(secrets);
    expect(revoked(k1)).toBe(false);
    secrets.put(withRevokedKey(undefined, k1, "n1") as Secret & KubeObject);
    expect(revoked(k1)).toBe(true);
    expect(revoked(k2)).toBe(false);
    // A Secret of another type under the same name (an admin's mistake) revokes nothing.
    secrets.put({ ...withRevokedKey(undefined, k2, "n2"), type: "Opaque" } as Secret & KubeObject);
    expect(revoked(k2)).toBe(false);
    expect(revokedKeysType).toBe("kctl.io/revoked-node-keys");
  });
});
