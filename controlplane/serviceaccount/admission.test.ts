import { describe, expect, it } from "vitest";
import { ApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { Causes } from "../../foundation/api/validation/field.js";
import { validatePodSpec } from "../../foundation/api/validation/pod.js";
import type { Pod, ServiceAccount } from "../../proto/gen/api.js";
import { serviceAccountAdmission, serviceAccountMountPath } from "./admission.js";

const pods = resourceForKind("v1", "Pod")!;

function newPod(spec: Pod["spec"] = {}): Pod & KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "web", namespace: "shop" },
    spec: { containers: [{ name: "app", image: "kctl.local/busybox:debian" }], ...spec },
  };
}

function admission(accounts: Record<string, ServiceAccount>) {
  return serviceAccountAdmission({
    getServiceAccount: async (ns, name) => accounts[`${ns}/${name}`],
    defaultAccountWaitMs: 0,
    random: () => 0,
  });
}

const account = (name: string, automount?: boolean): ServiceAccount => ({
  apiVersion: "v1",
  kind: "ServiceAccount",
  metadata: { name, namespace: "shop", uid: `uid-${name}` },
  ...(automount === undefined ? {} : { automountServiceAccountToken: automount }),
});

describe("ServiceAccount admission", () => {
  it("runs the pod as `default` and mounts the token volume in every container, valid as a pod spec", async () => {
    const pod = newPod({ initContainers: [{ name: "init", image: "x" }] });
    await admission({ "shop/default": account("default") }).admitCreate(pods, pod);
    expect(pod.spec?.serviceAccountName).toBe("default");
    const volume = pod.spec?.volumes?.[0];
    expect(volume?.name).toBe("kube-api-access-bbbbb");
    expect(volume?.projected?.sources?.map((s) => Object.keys(s)[0])).toEqual([
      "serviceAccountToken",
      "configMap",
      "downwardAPI",
    ]);
    for (const c of [...pod.spec!.initContainers!, ...pod.spec!.containers!]) {
      expect(c.volumeMounts).toEqual([
        { name: volume?.name, mountPath: serviceAccountMountPath, readOnly: true },
      ]);
    }
    const c = new Causes();
    validatePodSpec(c, pod.spec, "spec");
    expect(c.list).toEqual([]);
  });

  it("refuses a pod whose account does not exist, naming it as upstream does", async () => {
    const err = await admission({})
      .admitCreate(pods, newPod({ serviceAccountName: "robot" }))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).reason).toBe("Forbidden");
    expect((err as ApiError).message).toBe(
      'pods "web" is forbidden: error looking up service account shop/robot: serviceaccount "robot" not found',
    );
  });

  it("mounts nothing when the pod or its account opts out, or a container mounts the path itself", async () => {
    const optOutPod = newPod({ serviceAccountName: "robot", automountServiceAccountToken: false });
    await admission({ "shop/robot": account("robot", true) }).admitCreate(pods, optOutPod);
    expect(optOutPod.spec?.volumes).toBeUndefined();

    const optOutAccount = newPod({ serviceAccount: "robot" });
    await admission({ "shop/robot": account("robot", false) }).admitCreate(pods, optOutAccount);
    expect(optOutAccount.spec?.serviceAccountName).toBe("robot");
    expect(optOutAccount.spec?.volumes).toBeUndefined();

    const own = newPod({
      volumes: [{ name: "mine", emptyDir: {} }],
      containers: [
        { name: "a", image: "x", volumeMounts: [{ name: "mine", mountPath: serviceAccountMountPath }] },
      ],
    });
    await admission({ "shop/default": account("default") }).admitCreate(pods, own);
    expect(own.spec?.volumes?.map((v) => v.name)).toEqual(["mine"]);
  });

  it("copies the account's pull secrets into a pod naming none, and keeps a pod's own", async () => {
    const robot = { ...account("robot", false), imagePullSecrets: [{ name: "team-pull" }] };
    const plain = newPod({ serviceAccountName: "robot" });
    await admission({ "shop/robot": robot }).admitCreate(pods, plain);
    expect(plain.spec?.imagePullSecrets).toEqual([{ name: "team-pull" }]);
    // A copy: editing the pod's list must not reach the account the cache holds.
    plain.spec!.imagePullSecrets![0]!.name = "changed";
    expect(robot.imagePullSecrets).toEqual([{ name: "team-pull" }]);

    const own = newPod({ serviceAccountName: "robot", imagePullSecrets: [{ name: "mine" }] });
    await admission({ "shop/robot": robot }).admitCreate(pods, own);
    expect(own.spec?.imagePullSecrets).toEqual([{ name: "mine" }]);
  });

  it("leaves other kinds alone", async () => {
    const obj = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "shop" } };
    await admission({}).admitCreate(resourceForKind("v1", "ConfigMap")!, obj);
    expect(obj).toEqual({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "shop" } });
  });
});
