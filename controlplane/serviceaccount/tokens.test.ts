import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../foundation/api/object.js";
import type { Pod, ServiceAccount } from "../../proto/gen/api.js";
import type { Lister } from "../client/index.js";
import { serviceAccountAuthenticator } from "./authenticator.js";
import { defaultIssuer, TokenSigner } from "./tokens.js";

const key = () => generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey;
const t0 = Date.parse("2026-12-06T12:00:00Z");

function lister<T extends KubeObject>(objs: T[]): Lister<T> {
  const byKey = new Map(objs.map((o) => [`${o.metadata.namespace}/${o.metadata.name}`, o]));
  return {
    get: (k) => byKey.get(k) as never,
    list: () => [...byKey.values()] as never,
    byIndex: () => [],
    size: () => byKey.size,
  };
}

const sa = (uid: string): ServiceAccount & KubeObject => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name: "robot", namespace: "shop", uid },
});
const pod = (uid: string, deletionTimestamp?: string): Pod & KubeObject => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "web-0", namespace: "shop", uid, ...(deletionTimestamp ? { deletionTimestamp } : {}) },
});

describe("ServiceAccount tokens", () => {
  const signer = new TokenSigner(key());
  const issue = (o: { audiences?: string[]; seconds?: number; pod?: boolean } = {}) =>
    signer.issue({
      namespace: "shop",
      serviceAccount: { name: "robot", uid: "sa-1" },
      ...(o.pod === false ? {} : { pod: { name: "web-0", uid: "pod-1" } }),
      audiences: o.audiences ?? [defaultIssuer],
      expirationSeconds: o.seconds ?? 3600,
      nowMs: t0,
    }).token;
  const authenticate = (pods: (Pod & KubeObject)[], accounts = [sa("sa-1")], now = t0 + 1000) =>
    serviceAccountAuthenticator({
      signer,
      audiences: [defaultIssuer],
      serviceAccounts: lister(accounts),
      pods: lister(pods),
      now: () => now,
    });

  it("authenticates as system:serviceaccount:<ns>:<name> while its pod and account live", () => {
    expect(authenticate([pod("pod-1")])(issue())).toEqual({
      name: "system:serviceaccount:shop:robot",
      groups: ["system:serviceaccounts", "system:serviceaccounts:shop"],
    });
  });

  it("stops working once its pod is gone, replaced by another of the same name, or past deletion", () => {
    const token = issue();
    expect(authenticate([])(token)).toBeUndefined();
    expect(authenticate([pod("pod-2")])(token)).toBeUndefined();
    expect(authenticate([pod("pod-1", "2026-12-06T11:59:00Z")])(token)).toBeUndefined();
    // Within its grace period the pod still runs and may still talk to the API.
    expect(authenticate([pod("pod-1", "2026-12-06T12:05:00Z")])(token)).toBeDefined();
  });

  it("stops working once its account is deleted, even if one of the same name is made again", () => {
    expect(authenticate([pod("pod-1")], [])(issue())).toBeUndefined();
    expect(authenticate([pod("pod-1")], [sa("sa-2")])(issue())).toBeUndefined();
  });

  it("refuses an expired token, one for another audience, and one from another key", () => {
    expect(authenticate([pod("pod-1")], undefined, t0 + 3600_000 + 61_000)(issue())).toBeUndefined();
    expect(authenticate([pod("pod-1")])(issue({ audiences: ["vault"] }))).toBeUndefined();
    const other = new TokenSigner(key()).issue({
      namespace: "shop",
      serviceAccount: { name: "robot", uid: "sa-1" },
      audiences: [defaultIssuer],
      expirationSeconds: 3600,
      nowMs: t0,
    }).token;
    expect(authenticate([pod("pod-1")])(other)).toBeUndefined();
  });

  it("refuses a token whose claims were edited, keeping the signature (another namespace, admin)", () => {
    const [head, body, sig] = issue({ pod: false }).split(".") as [string, string, string];
    const claims = JSON.parse(Buffer.from(body, "base64url").toString());
    claims.sub = "system:serviceaccount:kube-system:robot";
    claims["kubernetes.io"].namespace = "kube-system";
    const forged = `${head}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.${sig}`;
    const kubeSystem = { ...sa("sa-1"), metadata: { ...sa("sa-1").metadata, namespace: "kube-system" } };
    expect(authenticate([], [kubeSystem])(forged)).toBeUndefined();
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${body}.`;
    expect(authenticate([], [sa("sa-1")])(none)).toBeUndefined();
    expect(authenticate([], [sa("sa-1")])("abcdef.0123456789abcdef")).toBeUndefined();
  });
});
