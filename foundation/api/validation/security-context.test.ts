import { describe, expect, it } from "vitest";
import { applyDefaults, validateObject } from "../../kinds/index.js";
import { decodeObject } from "../codec.js";
import { resourceForKind } from "../resources.js";
import { capabilityName } from "./security-context.js";

type Raw = Record<string, unknown>;

function podWith(spec: Raw, container: Raw = {}): Raw {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p" },
    spec: { ...spec, containers: [{ name: "c", image: "busybox", ...container }] },
  };
}

function causes(raw: Raw): string[] {
  const obj = decodeObject(raw);
  const info = resourceForKind(obj.apiVersion, obj.kind)!;
  obj.metadata.namespace = "default";
  applyDefaults(info, obj);
  return validateObject(info, obj).map((c) => `${c.field}: ${c.message}`);
}

const ct = "spec.containers[0].securityContext";

describe("securityContext validation", () => {
  it("accepts everything a node implements", () => {
    expect(
      causes(
        podWith(
          {
            hostUsers: false,
            securityContext: {
              runAsUser: 1000,
              runAsGroup: 3000,
              runAsNonRoot: true,
              supplementalGroups: [4000, 0],
              fsGroup: 2000,
              seccompProfile: { type: "Localhost", localhostProfile: "profiles/audit.json" },
            },
          },
          {
            securityContext: {
              runAsUser: 1001,
              capabilities: { add: ["NET_ADMIN", "cap_net_raw", "ALL"], drop: ["all", "CAP_CHOWN"] },
              privileged: false,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              procMount: "Unmasked",
              seccompProfile: { type: "RuntimeDefault" },
            },
          },
        ),
      ),
    ).toEqual([]);
    // privileged is the node's decision
    expect(causes(podWith({}, { securityContext: { privileged: true } }))).toEqual([]);
  });

  it.each<[string, Raw, Raw, string[]]>([
    [
      "SELinux, Windows and AppArmor options, named",
      {
        securityContext: { seLinuxOptions: { level: "s0:c1" }, appArmorProfile: { type: "RuntimeDefault" } },
      },
      { securityContext: { windowsOptions: { runAsUserName: "x" }, seLinuxOptions: {} } },
      [
        `${ct}.seLinuxOptions: Forbidden: SELinux is not supported by this cluster's nodes`,
        `${ct}.windowsOptions: Forbidden: Windows options are not supported by this cluster's nodes`,
        "spec.securityContext.seLinuxOptions: Forbidden: SELinux is not supported by this cluster's nodes",
        "spec.securityContext.appArmorProfile: Forbidden: AppArmor is not supported by this cluster's nodes",
      ],
    ],
    [
      "sysctls",
      { securityContext: { sysctls: [{ name: "net.core.somaxconn", value: "1024" }] } },
      {},
      ["spec.securityContext.sysctls: Forbidden: sysctls are not supported by this cluster's nodes"],
    ],
    [
      "negative and too large ids",
      { securityContext: { runAsUser: -1, fsGroup: 2 ** 31, supplementalGroups: [1, -5] } },
      { securityContext: { runAsGroup: -2 } },
      [
        `${ct}.runAsGroup: Invalid value: -2: must be between 0 and 2147483647, inclusive`,
        "spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive",
        "spec.securityContext.fsGroup: Invalid value: 2147483648: must be between 0 and 2147483647, inclusive",
        "spec.securityContext.supplementalGroups[1]: Invalid value: -5: must be between 0 and 2147483647, inclusive",
      ],
    ],
    [
      "runAsNonRoot with runAsUser 0, on the pod, on the container, and across the two",
      { securityContext: { runAsNonRoot: true, runAsUser: 0 } },
      { securityContext: { runAsUser: 0 } },
      [
        `${ct}.runAsUser: Invalid value: 0: must not be 0 when \`runAsNonRoot\` is true`,
        "spec.securityContext.runAsUser: Invalid value: 0: must not be 0 when `runAsNonRoot` is true",
      ],
    ],
    [
      "the container's runAsNonRoot against the pod's runAsUser 0",
      { securityContext: { runAsUser: 0 } },
      { securityContext: { runAsNonRoot: true } },
      [
        "spec.securityContext.runAsUser: Invalid value: 0: must not be 0 when the container's `runAsNonRoot` is true",
      ],
    ],
    [
      "procMount: unknown value, and Unmasked without hostUsers false",
      {},
      { securityContext: { procMount: "Unmasked" } },
      [`${ct}.procMount: Forbidden: \`hostUsers\` must be false to use \`Unmasked\``],
    ],
    [
      "procMount value",
      { hostUsers: false },
      { securityContext: { procMount: "Masked" } },
      [`${ct}.procMount: Unsupported value: "Masked": supported values: "Default", "Unmasked"`],
    ],
    [
      "seccomp type and localhostProfile",
      { securityContext: { seccompProfile: { type: "Localhost" } } },
      { securityContext: { seccompProfile: { type: "RuntimeDefault", localhostProfile: "x.json" } } },
      [
        `${ct}.seccompProfile.localhostProfile: Invalid value: "x.json": can only be set when seccomp type is Localhost`,
        "spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost",
      ],
    ],
    [
      "seccomp profile paths leaving the profile directory",
      { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "/etc/x.json" } } },
      { securityContext: { seccompProfile: { type: "Localhost", localhostProfile: "a/../../x.json" } } },
      [
        `${ct}.seccompProfile.localhostProfile: Invalid value: "a/../../x.json": must not contain '..'`,
        'spec.securityContext.seccompProfile.localhostProfile: Invalid value: "/etc/x.json": must be a relative path',
      ],
    ],
    [
      "seccomp type missing or unknown",
      { securityContext: { seccompProfile: {} } },
      { securityContext: { seccompProfile: { type: "unconfined" } } },
      [
        `${ct}.seccompProfile.type: Unsupported value: "unconfined": supported values: "RuntimeDefault", "Unconfined", "Localhost"`,
        'spec.securityContext.seccompProfile.type: Required value: supported values: "RuntimeDefault", "Unconfined", "Localhost"',
      ],
    ],
    [
      "unknown capability names",
      {},
      { securityContext: { capabilities: { add: ["NET_ADMIN", "CAP_FLY"], drop: ["", "KILL"] } } },
      [
        `${ct}.capabilities.add[1]: Invalid value: "CAP_FLY": not a Linux capability name (e.g. NET_ADMIN or ALL)`,
        `${ct}.capabilities.drop[0]: Invalid value: "": not a Linux capability name (e.g. NET_ADMIN or ALL)`,
      ],
    ],
    [
      "allowPrivilegeEscalation false with privileged or SYS_ADMIN",
      {},
      {
        securityContext: {
          allowPrivilegeEscalation: false,
          privileged: true,
          capabilities: { add: ["CAP_SYS_ADMIN"] },
        },
      },
      [
        `${ct}.allowPrivilegeEscalation: Invalid value: false: cannot set \`allowPrivilegeEscalation\` to false and \`privileged\` to true`,
        `${ct}.allowPrivilegeEscalation: Invalid value: false: cannot set \`allowPrivilegeEscalation\` to false and \`capabilities.Add\` CAP_SYS_ADMIN`,
      ],
    ],
  ])("refuses %s", (_name, spec, container, expected) => {
    expect(causes(podWith(spec, container))).toEqual(expected);
  });

  it("checks init containers and pod templates too", () => {
    const bad = { securityContext: { capabilities: { add: ["NOPE"] } } };
    const pod = podWith({ initContainers: [{ name: "i", image: "busybox", ...bad }] });
    expect(causes(pod)).toEqual([
      'spec.initContainers[0].securityContext.capabilities.add[0]: Invalid value: "NOPE": not a Linux capability name (e.g. NET_ADMIN or ALL)',
    ]);
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        selector: { matchLabels: { a: "b" } },
        template: { metadata: { labels: { a: "b" } }, spec: (podWith({}, bad) as { spec: Raw }).spec },
      },
    };
    expect(causes(deployment)).toEqual([
      'spec.template.spec.containers[0].securityContext.capabilities.add[0]: Invalid value: "NOPE": not a Linux capability name (e.g. NET_ADMIN or ALL)',
    ]);
  });

  it("spells capabilities the OCI way whatever the case and prefix", () => {
    expect(
      ["net_admin", "CAP_NET_ADMIN", "Cap_Net_Admin", "all", "ALL", "CAP_ALL", "NOPE"].map(capabilityName),
    ).toEqual(["CAP_NET_ADMIN", "CAP_NET_ADMIN", "CAP_NET_ADMIN", "ALL", "ALL", undefined, undefined]);
  });
});
