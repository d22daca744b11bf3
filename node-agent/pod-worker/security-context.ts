/**
 * A container's identity and confinement from its pod's and its own securityContext, the image's
 * USER and the node's policy, with upstream's semantics (kubelet + containerd's CRI plugin):
 *
 * - The container's context overrides the pod's field by field (runAsUser, runAsGroup,
 *   runAsNonRoot, seccompProfile); supplementalGroups and fsGroup are the pod's only.
 * - User: runAsUser, else the image's USER (`uid`, `name`, `uid:gid`, `name:group`, resolved in the
 *   image's /etc/passwd and /etc/group), else root. Group: runAsGroup, else the image's group when
 *   the user came from the image, else the user's primary group in /etc/passwd, else 0.
 *   Supplementary groups: the primary group, the user's groups in /etc/group, supplementalGroups,
 *   fsGroup (initgroups(3) and containerd's WithAdditionalGIDs + WithSupplementalGroups).
 * - runAsNonRoot is checked like the kubelet, with its messages: runAsUser 0 or an image running as
 *   root is refused, and so is an image USER that is a name, since its uid cannot be verified.
 * - Capabilities: containerd's default set; `add: [ALL]`, then `drop: [ALL]`, then the single adds,
 *   then the single drops (so `drop: [ALL], add: [NET_BIND_SERVICE]` leaves just that one).
 * - allowPrivilegeEscalation: false → no_new_privs. readOnlyRootFilesystem → read-only root.
 * - procMount Unmasked, or privileged: no masked or read-only /proc paths.
 * - privileged (only where the node allows it): every capability, every device, no masks,
 *   seccomp unconfined, /sys read-write.
 * - hostUsers: false: a user namespace with the pod's own 65536 host ids.
 *
 * Everything that cannot be honoured is a SecurityContextError (the pod sees
 * CreateContainerConfigError with its message), never a container started with less confinement or
 * another identity than asked. `planSecurity` is pure; `containerSecurity` reads the image's
 * accounts and allocates the pod's id range around it.
 */
import { stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { capabilityName, capabilityNames } from "../../foundation/api/validation/security-context.js";
import type { Container, Pod, SeccompProfile } from "../../proto/gen/api.js";
import {
  type ContainerSecurity,
  defaultCapabilities,
  maskedPaths,
  readonlyPaths,
} from "../runtime/oci/container-config.js";
import {
  type Accounts,
  ImageUserError,
  isNumericId,
  lookupGroup,
  lookupUser,
  memberGroups,
  readAccounts,
  splitImageUser,
} from "../runtime/oci/image-user.js";
import type { IdRange, UserNamespaceRanges } from "./userns-ranges.js";

/** A security context this node cannot honour; the message says which field and why. */
export class SecurityContextError extends Error {
  override name = "SecurityContextError";
}

/** What the seccomp profiles module (runtime/oci/seccomp-default.ts) provides. */
export interface SeccompProfiles {
  /** The runtime's default filter for a container with these capabilities on this node. */
  defaultSeccompProfile(caps: string[]): object;
  /** The filter in the OCI seccomp profile file at `path`, for a container with these capabilities. */
  localhostProfile(path: string, caps: string[]): object | Promise<object>;
}

/** The node's side of security: its policy and what it owns. */
export interface NodeSecurity {
  /** Privileged containers may run here (`kctl join/up --allow-privileged`). */
  allowPrivileged: boolean;
  /** Where `Localhost` seccomp profiles live (`<stateDir>/seccomp`). */
  seccompRoot: string;
  /** Id ranges of hostUsers: false pods. */
  userNamespaces: UserNamespaceRanges;
  seccompProfiles: SeccompProfiles;
}

/** Which seccomp filter a container gets; undefined in a plan means none. */
export type SeccompChoice = { type: "RuntimeDefault" } | { type: "Localhost"; path: string };

export interface SecurityPlan extends Omit<ContainerSecurity, "seccomp"> {
  seccomp: SeccompChoice | undefined;
}

export interface SecurityInput {
  pod: Pod;
  container: Container;
  /** The image config's User ("" when unset). */
  imageUser: string;
  /** The image's /etc/passwd and /etc/group. */
  accounts: Accounts;
  allowPrivileged: boolean;
  seccompRoot: string;
  /** The pod's id range, when it has `hostUsers: false`. */
  idRange?: IdRange;
}

const allCapabilities = capabilityNames.map((n) => `CAP_${n}`);

/** kubelet's format.Pod: name_namespace(uid). */
const podRef = (pod: Pod) =>
  `${pod.metadata.name ?? ""}_${pod.metadata.namespace ?? "default"}(${pod.metadata.uid ?? ""})`;

/** Decides the container's identity and confinement; throws SecurityContextError. */
export function planSecurity(input: SecurityInput): SecurityPlan {
  const { pod, container } = input;
  const podSc = pod.spec?.securityContext ?? {};
  const sc = container.securityContext ?? {};
  const name = container.name ?? "";
  const privileged = sc.privileged === true;
  if (privileged && !input.allowPrivileged) {
    throw new SecurityContextError(
      `container "${name}" is privileged, but this node does not allow privileged containers (its agent runs without --allow-privileged)`,
    );
  }
  const runAsUser = sc.runAsUser ?? podSc.runAsUser;
  const runAsGroup = sc.runAsGroup ?? podSc.runAsGroup;
  if (sc.runAsNonRoot ?? podSc.runAsNonRoot) verifyNonRoot(runAsUser, input.imageUser, pod, name);

  const user = resolveUser(input.accounts, input.imageUser, runAsUser, runAsGroup);
  const additionalGids = [
    ...new Set([
      user.gid,
      ...memberGroups(input.accounts, user.name),
      ...(podSc.supplementalGroups ?? []),
      ...(podSc.fsGroup !== undefined ? [podSc.fsGroup] : []),
    ]),
  ];

  const capabilities = privileged ? allCapabilities : applyCapabilities(sc.capabilities);
  const unmasked = privileged || sc.procMount === "Unmasked";
  const plan: SecurityPlan = {
    user: { uid: user.uid, gid: user.gid, additionalGids },
    capabilities,
    noNewPrivileges: sc.allowPrivilegeEscalation === false,
    readonlyRootfs: sc.readOnlyRootFilesystem === true,
    maskedPaths: unmasked ? [] : [...maskedPaths],
    readonlyPaths: unmasked ? [] : [...readonlyPaths],
    privileged,
    seccomp: privileged
      ? undefined
      : chooseSeccomp(sc.seccompProfile ?? podSc.seccompProfile, input.seccompRoot),
  };
  if (pod.spec?.hostUsers === false) {
    if (!input.idRange)
      throw new SecurityContextError("hostUsers: false: the pod has no user namespace id range");
    const { size } = input.idRange;
    for (const [field, id] of [
      ["uid", user.uid],
      ...additionalGids.map((g) => ["gid", g] as const),
    ] as const) {
      if (id >= size)
        throw new SecurityContextError(
          `${field} ${id} is outside the pod's user namespace (hostUsers: false maps container ids 0-${size - 1})`,
        );
    }
    plan.idRange = input.idRange;
  }
  return plan;
}

// kubelet's verifyRunAsNonRoot, messages included.
function verifyNonRoot(runAsUser: number | undefined, imageUser: string, pod: Pod, name: string): void {
  const where = `(pod: "${podRef(pod)}", container: ${name})`;
  if (runAsUser !== undefined) {
    if (runAsUser === 0)
      throw new SecurityContextError(`container's runAsUser breaks non-root policy ${where}`);
    return;
  }
  const { user } = splitImageUser(imageUser);
  if (user === "" || (isNumericId(user) && Number(user) === 0))
    throw new SecurityContextError(`container has runAsNonRoot and image will run as root ${where}`);
  if (!isNumericId(user))
    throw new SecurityContextError(
      `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${where}`,
    );
}

function resolveUser(
  accounts: Accounts,
  imageUser: string,
  runAsUser: number | undefined,
  runAsGroup: number | undefined,
): { uid: number; gid: number; name?: string } {
  try {
    if (runAsUser !== undefined) {
      const u = lookupUser(accounts, String(runAsUser));
      return { ...u, gid: runAsGroup ?? u.gid };
    }
    const image = splitImageUser(imageUser);
    const u = lookupUser(accounts, image.user || "0");
    const group = image.group ? lookupGroup(accounts, image.group) : u.gid;
    return { ...u, gid: runAsGroup ?? group };
  } catch (err) {
    if (err instanceof ImageUserError)
      throw new SecurityContextError(`image user "${imageUser}": ${err.message}`);
    throw err;
  }
}

// containerd's WithCapabilities: ALL first, then single names; names as validation spells them.
function applyCapabilities(caps: { add?: string[]; drop?: string[] } | undefined): string[] {
  const add = (caps?.add ?? []).map((n) => capabilityName(n) ?? n);
  const drop = (caps?.drop ?? []).map((n) => capabilityName(n) ?? n);
  let set = new Set<string>(defaultCapabilities);
  if (add.includes("ALL")) set = new Set(allCapabilities);
  if (drop.includes("ALL")) set.clear();
  for (const c of add) {
    if (c === "ALL") continue;
    if (!allCapabilities.includes(c))
      throw new SecurityContextError(`capabilities.add: unknown capability "${c}"`);
    set.add(c);
  }
  for (const c of drop) set.delete(c);
  return [...set];
}

/**
 * The project's default, for a container whose pod and container leave seccompProfile unset, is
 * RuntimeDefault. Upstream's kubelet defaults to Unconfined unless its SeccompDefault option is on
 * (GA since 1.27 but still off by default, for compatibility with existing clusters); this
 * project has no such clusters to stay compatible with, and the default filter blocks the
 * syscalls that most container escapes need (unshare of user namespaces, kexec, bpf, mount with
 * fewer capabilities), like Docker and Podman do by default.
 */
function chooseSeccomp(profile: SeccompProfile | undefined, seccompRoot: string): SeccompChoice | undefined {
  if (profile?.type === "Unconfined") return undefined;
  if (profile?.type === "Localhost") {
    const rel = profile.localhostProfile ?? "";
    if (rel === "" || rel.startsWith("/") || rel.split("/").includes(".."))
      throw new SecurityContextError(
        `seccompProfile.localhostProfile "${rel}": must be a relative path inside the node's profile directory`,
      );
    return { type: "Localhost", path: join(seccompRoot, rel) };
  }
  return { type: "RuntimeDefault" };
}

/**
 * A user-namespaced container's root is an unprivileged host id, and the runtime opens the rootfs
 * (and the pod's files beside it in the state dir) as that id, as runc and crun do: every directory
 * above them must be searchable by others. Said here, naming the directory, rather than as a
 * "permission denied" from the runtime.
 */
async function requireSearchable(path: string): Promise<void> {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    const mode = (await stat(dir)).mode;
    if ((mode & 0o001) === 0)
      throw new SecurityContextError(
        `hostUsers: false: ${dir} (mode ${(mode & 0o777).toString(8).padStart(4, "0")}) must be searchable by others (chmod o+x) for a user namespace's root to reach the container's files`,
      );
    if (dir === "/") return;
  }
}

/**
 * The container's security as its OCI config takes it: reads the image's accounts from the
 * prepared `rootfs`, takes the pod's id range when it has `hostUsers: false` (held until
 * `NodeSecurity.userNamespaces.release(podUID)` when the pod is cleaned up), plans, and builds the
 * seccomp filter. Throws SecurityContextError for anything the node cannot honour.
 */
export async function containerSecurity(
  pod: Pod,
  container: Container,
  imageUser: string,
  rootfs: string,
  node: NodeSecurity,
): Promise<ContainerSecurity> {
  const accounts = await readAccounts(rootfs).catch((err: unknown) => {
    if (err instanceof ImageUserError) throw new SecurityContextError(err.message);
    throw err;
  });
  if (pod.spec?.hostUsers === false) await requireSearchable(rootfs);
  const idRange =
    pod.spec?.hostUsers === false
      ? await node.userNamespaces.allocate(pod.metadata.uid ?? "").catch((err: Error) => {
          throw new SecurityContextError(`hostUsers: false: ${err.message}`);
        })
      : undefined;
  const { seccomp, ...plan } = planSecurity({
    pod,
    container,
    imageUser,
    accounts,
    allowPrivileged: node.allowPrivileged,
    seccompRoot: node.seccompRoot,
    ...(idRange ? { idRange } : {}),
  });
  if (!seccomp) return plan;
  const profiles = node.seccompProfiles;
  const filter =
    seccomp.type === "RuntimeDefault"
      ? profiles.defaultSeccompProfile(plan.capabilities)
      : await Promise.resolve(profiles.localhostProfile(seccomp.path, plan.capabilities)).catch(
          (err: Error) => {
            throw new SecurityContextError(`seccompProfile Localhost ${seccomp.path}: ${err.message}`);
          },
        );
  return { ...plan, seccomp: filter };
}
