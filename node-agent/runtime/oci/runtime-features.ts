/**
 * Parts of the OCI config that kshim, this node's runtime, does not accept yet: each lands with
 * kshim support on another branch. The config generator and the security context code consult
 * these and leave the part out (or refuse a pod that needs it, rather than run it without); once
 * the branch is merged, flip its constant here and nothing else.
 */

/**
 * `linux.seccomp`, and a user namespace with `uidMappings`/`gidMappings` for `hostUsers: false`
 * pods (kshim support and node-agent/runtime/oci/seccomp-default.ts: branch seccomp-userns). With
 * it on, the agent must also be given the profile builders (`NodeSecurity.seccompProfiles`).
 */
export const RUNTIME_SECCOMP_AND_USERNS = false;
