/**
 * ServiceAccounts wired into the control plane: the signing key (`<pki>/sa.key`), the admission
 * step that gives new pods their account and token volume, the TokenRequest subresource and the
 * authenticator for the tokens it mints. The controller that makes each namespace's `default`
 * account runs with the other controllers.
 */
import { createPrivateKey } from "node:crypto";
import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { resourceForKind } from "../../foundation/api/resources.js";
import { ensureServiceAccountKey } from "../../foundation/pki/pki.js";
import type { ServiceAccount } from "../../proto/gen/api.js";
import type { SubresourceHandler, User } from "../apiserver/index.js";
import type { InformerFactory } from "../client/informer-factory.js";
import type { Lister } from "../client/object-cache.js";
import type { Registry } from "../registry/index.js";
import { systemNamespaces } from "../registry/registry.js";
import { defaultServiceAccountName, serviceAccountAdmission } from "../serviceaccount/admission.js";
import { serviceAccountAuthenticator } from "../serviceaccount/authenticator.js";
import { type TokenIssuerOptions, tokenRequestHandler } from "../serviceaccount/token-request.js";
import { defaultIssuer, TokenSigner } from "../serviceaccount/tokens.js";

const serviceAccounts = resourceForKind("v1", "ServiceAccount")!;

export interface ServiceAccountWiring {
  authenticate(token: string): User | undefined;
  tokenHandler: SubresourceHandler;
  issuer: TokenIssuerOptions;
}

/**
 * The admission's account lookup. Every pod create asks: the informer cache answers, and only an
 * account it does not hold yet costs a read from etcd (linearizable, so it sees an account written
 * a moment ago that the cache's watch has not delivered), as upstream's admission plugin falls
 * back from its lister to a live GET.
 */
export function cachedThenLive(
  accounts: Lister<ServiceAccount & KubeObject>,
  registry: Pick<Registry, "get">,
): (namespace: string, name: string) => Promise<ServiceAccount | undefined> {
  return async (namespace, name) =>
    (accounts.get(`${namespace}/${name}`) as ServiceAccount | undefined) ??
    registry.get(serviceAccounts, namespace, name).then(
      (sa) => sa as ServiceAccount,
      (err: unknown) => {
        if (isApiError(err, "NotFound")) return undefined;
        throw err;
      },
    );
}

export async function wireServiceAccounts(
  registry: Registry,
  informers: InformerFactory,
  pkiDir: string,
): Promise<ServiceAccountWiring> {
  const signer = new TokenSigner(createPrivateKey(await ensureServiceAccountKey(pkiDir)));
  // The system namespaces' accounts exist before the first pod is admitted, whether or not this
  // control plane leads the controllers yet; other namespaces get theirs from the controller.
  for (const namespace of systemNamespaces) {
    await registry
      .create(serviceAccounts, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: defaultServiceAccountName, namespace },
      })
      .catch((err: unknown) => {
        if (!isApiError(err, "AlreadyExists")) throw err;
      });
  }
  const audiences = [defaultIssuer];
  const accounts = informers.informer<ServiceAccount & KubeObject>(serviceAccounts).lister;
  registry.addAdmission(serviceAccountAdmission({ getServiceAccount: cachedThenLive(accounts, registry) }));
  const issuer: TokenIssuerOptions = { registry, signer, audiences };
  return {
    authenticate: serviceAccountAuthenticator({
      signer,
      audiences,
      serviceAccounts: accounts,
      pods: informers.pods().lister,
    }),
    tokenHandler: tokenRequestHandler(issuer),
    issuer,
  };
}
