/**
 * Authenticates ServiceAccount tokens: a token is good while its signature, issuer, audience and
 * lifetime hold AND the objects it is bound to still exist with the uids it names (the
 * ServiceAccount, and the pod for a pod's token, which must not be past its deletion time). So a
 * token a pod leaked stops working once the pod is gone, and one of a deleted and re-created
 * ServiceAccount does not carry over to the new one.
 */

import type { KubeObject } from "../../foundation/api/object.js";
import { parseTime } from "../../foundation/util/time.js";
import type { Pod, ServiceAccount } from "../../proto/gen/api.js";
import type { User } from "../apiserver/index.js";
import type { Lister } from "../client/index.js";
import { serviceAccountUser, type TokenSigner } from "./tokens.js";

export interface ServiceAccountAuthenticatorOptions {
  signer: TokenSigner;
  /** The audiences the apiserver accepts (`--api-audiences`); the issuer by default. */
  audiences: readonly string[];
  serviceAccounts: Lister<ServiceAccount & KubeObject>;
  pods: Lister<Pod & KubeObject>;
  now?: () => number;
}

export const serviceAccountsGroup = "system:serviceaccounts";

export function serviceAccountAuthenticator(
  opts: ServiceAccountAuthenticatorOptions,
): (token: string) => User | undefined {
  const now = opts.now ?? Date.now;
  return (token) => {
    const at = now();
    const claims = opts.signer.verify(token, opts.audiences, at);
    if (!claims) return undefined;
    const { namespace, serviceaccount, pod } = claims["kubernetes.io"];
    const sa = opts.serviceAccounts.get(`${namespace}/${serviceaccount.name}`);
    if (!sa || sa.metadata.uid !== serviceaccount.uid) return undefined;
    if (pod) {
      const p = opts.pods.get(`${namespace}/${pod.name}`);
      if (!p || p.metadata.uid !== pod.uid) return undefined;
      const deletion = parseTime(p.metadata.deletionTimestamp);
      if (deletion !== undefined && deletion < at) return undefined;
    }
    return {
      name: serviceAccountUser(namespace, serviceaccount.name),
      groups: [serviceAccountsGroup, `${serviceAccountsGroup}:${namespace}`],
    };
  };
}
