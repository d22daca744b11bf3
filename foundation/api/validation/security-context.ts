/**
 * Validation of pod and container security contexts, as upstream plus one rule: what the nodes of
 * this cluster cannot honour (SELinux, Windows options, AppArmor, sysctls, unknown capability names)
 * is refused by field name here, never accepted and then silently ignored on the node. Privileged is
 * accepted: whether it may run is the node's decision (`kctl join --allow-privileged`).
 */

import type {
  Capabilities,
  PodSecurityContext,
  PodSpec,
  SeccompProfile,
  SecurityContext,
} from "../../../proto/gen/api.js";
import { type Causes, child, index, validateOneOf } from "./field.js";

/** Every Linux capability a node can grant, without the CAP_ prefix (capabilities(7), Linux 5.9+). */
export const capabilityNames: readonly string[] = [
  "CHOWN",
  "DAC_OVERRIDE",
  "DAC_READ_SEARCH",
  "FOWNER",
  "FSETID",
  "KILL",
  "SETGID",
  "SETUID",
  "SETPCAP",
  "LINUX_IMMUTABLE",
  "NET_BIND_SERVICE",
  "NET_BROADCAST",
  "NET_ADMIN",
  "NET_RAW",
  "IPC_LOCK",
  "IPC_OWNER",
  "SYS_MODULE",
  "SYS_RAWIO",
  "SYS_CHROOT",
  "SYS_PTRACE",
  "SYS_PACCT",
  "SYS_ADMIN",
  "SYS_BOOT",
  "SYS_NICE",
  "SYS_RESOURCE",
  "SYS_TIME",
  "SYS_TTY_CONFIG",
  "MKNOD",
  "LEASE",
  "AUDIT_WRITE",
  "AUDIT_CONTROL",
  "SETFCAP",
  "MAC_OVERRIDE",
  "MAC_ADMIN",
  "SYSLOG",
  "WAKE_ALARM",
  "BLOCK_SUSPEND",
  "AUDIT_READ",
  "PERFMON",
  "BPF",
  "CHECKPOINT_RESTORE",
];

/**
 * A capability as written in a pod ("net_admin", "NET_ADMIN", "CAP_NET_ADMIN") in its OCI spelling
 * ("CAP_NET_ADMIN"), or "ALL"; undefined for a name that is not a capability.
 */
export function capabilityName(written: string): string | undefined {
  const upper = written.toUpperCase();
  if (upper === "ALL") return "ALL";
  const bare = upper.startsWith("CAP_") ? upper.slice(4) : upper;
  return capabilityNames.includes(bare) ? `CAP_${bare}` : undefined;
}

export const seccompProfileTypes = ["RuntimeDefault", "Unconfined", "Localhost"] as const;
export const procMountTypes = ["Default", "Unmasked"] as const;

// Upstream's IsValidUserID/IsValidGroupID: ids are non-negative int32s.
const maxId = 2 ** 31 - 1;

function validateId(c: Causes, path: string, id: number | undefined): void {
  if (id !== undefined && (id < 0 || id > maxId))
    c.invalid(path, id, `must be between 0 and ${maxId}, inclusive`);
}

/** Refuses, naming them, the parts of a security context no node of this cluster implements. */
function refuseUnsupported(c: Causes, sc: PodSecurityContext | SecurityContext, path: string): void {
  const notHere = "not supported by this cluster's nodes";
  if (sc.seLinuxOptions) c.forbidden(child(path, "seLinuxOptions"), `SELinux is ${notHere}`);
  if (sc.windowsOptions) c.forbidden(child(path, "windowsOptions"), `Windows options are ${notHere}`);
  if (sc.appArmorProfile) c.forbidden(child(path, "appArmorProfile"), `AppArmor is ${notHere}`);
}

function validateSeccomp(c: Causes, p: SeccompProfile, path: string): void {
  validateOneOf(c, child(path, "type"), p.type, seccompProfileTypes);
  const profilePath = child(path, "localhostProfile");
  if (p.type === "Localhost") {
    const profile = p.localhostProfile;
    if (!profile) c.required(profilePath, "must be set when seccomp type is Localhost");
    else if (profile.startsWith("/")) c.invalid(profilePath, profile, "must be a relative path");
    else if (profile.split("/").includes("..")) c.invalid(profilePath, profile, "must not contain '..'");
  } else if (p.localhostProfile !== undefined) {
    c.invalid(profilePath, p.localhostProfile, "can only be set when seccomp type is Localhost");
  }
}

function validateCapabilities(c: Causes, caps: Capabilities, path: string): void {
  for (const which of ["add", "drop"] as const) {
    (caps[which] ?? []).forEach((name, i) => {
      if (capabilityName(name) === undefined)
        c.invalid(index(child(path, which), i), name, "not a Linux capability name (e.g. NET_ADMIN or ALL)");
    });
  }
}

/** Validates spec.securityContext and spec.hostUsers of a pod spec at `path`. */
export function validatePodSecurityContext(c: Causes, spec: PodSpec, path: string): void {
  const sc = spec.securityContext;
  if (!sc) return;
  const p = child(path, "securityContext");
  refuseUnsupported(c, sc, p);
  validateId(c, child(p, "runAsUser"), sc.runAsUser);
  validateId(c, child(p, "runAsGroup"), sc.runAsGroup);
  validateId(c, child(p, "fsGroup"), sc.fsGroup);
  (sc.supplementalGroups ?? []).forEach((g, i) => {
    validateId(c, index(child(p, "supplementalGroups"), i), g);
  });
  if (sc.sysctls?.length)
    c.forbidden(child(p, "sysctls"), "sysctls are not supported by this cluster's nodes");
  if (sc.seccompProfile) validateSeccomp(c, sc.seccompProfile, child(p, "seccompProfile"));
  if (sc.runAsNonRoot && sc.runAsUser === 0)
    c.invalid(child(p, "runAsUser"), 0, "must not be 0 when `runAsNonRoot` is true");
}

/**
 * Validates a container's securityContext (the container is at `path`, its pod spec at `specPath`),
 * against the pod's context for the fields the container inherits (runAsNonRoot with runAsUser 0)
 * and the pod's hostUsers (procMount Unmasked needs a user namespace, as upstream requires).
 */
export function validateContainerSecurityContext(
  c: Causes,
  sc: SecurityContext | undefined,
  spec: PodSpec,
  specPath: string,
  path: string,
): void {
  if (!sc) return;
  const p = child(path, "securityContext");
  refuseUnsupported(c, sc, p);
  validateId(c, child(p, "runAsUser"), sc.runAsUser);
  validateId(c, child(p, "runAsGroup"), sc.runAsGroup);
  if (sc.seccompProfile) validateSeccomp(c, sc.seccompProfile, child(p, "seccompProfile"));
  if (sc.capabilities) validateCapabilities(c, sc.capabilities, child(p, "capabilities"));
  validateOneOf(c, child(p, "procMount"), sc.procMount, procMountTypes, false);
  if (sc.procMount === "Unmasked" && spec.hostUsers !== false)
    c.forbidden(child(p, "procMount"), "`hostUsers` must be false to use `Unmasked`");
  if (sc.allowPrivilegeEscalation === false) {
    const ape = child(p, "allowPrivilegeEscalation");
    if (sc.privileged)
      c.invalid(ape, false, "cannot set `allowPrivilegeEscalation` to false and `privileged` to true");
    if ((sc.capabilities?.add ?? []).some((n) => capabilityName(n) === "CAP_SYS_ADMIN"))
      c.invalid(
        ape,
        false,
        "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
      );
  }
  // The pod-level pair is checked with the pod's context; here only pairs the container completes.
  const pod = spec.securityContext;
  if (sc.runAsUser === 0 && (sc.runAsNonRoot ?? pod?.runAsNonRoot))
    c.invalid(child(p, "runAsUser"), 0, "must not be 0 when `runAsNonRoot` is true");
  else if (sc.runAsNonRoot && sc.runAsUser === undefined && pod?.runAsUser === 0)
    c.invalid(
      child(child(specPath, "securityContext"), "runAsUser"),
      0,
      "must not be 0 when the container's `runAsNonRoot` is true",
    );
}
