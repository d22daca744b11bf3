/**
 * `POST /apis/kctl.io/v1/control-plane-join`: hands a new control plane what every control plane
 * must share, so that it serves the same cluster: the cluster CA (certificate and key: it signs
 * node and apiserver certificates), the etcd CA (certificate and key: it issues the new member's
 * serving, peer and client certificates), the admin token (every apiserver must accept the admin
 * kubeconfig) and the client URLs of the etcd members (to add itself through etcd's member API).
 *
 * Who may call it: only a bootstrap token created with `kctl token create --control-plane`. A
 * plain join token, which every new node holds, is refused (Forbidden), as is anyone else. Each
 * call spends a use of the token. The keys travel only in this response, over TLS that the joiner
 * verifies against the CA hash it was given (the same discovery as a node join), and are read from
 * the serving control plane's own disk: they are never stored in etcd. kubeadm instead uploads
 * them encrypted to a Secret (`kubeadm-certs`) and gives the joiner a separate certificate key.
 */
import { ApiError } from "../../foundation/api/errors.js";
import type { KeyPair } from "../../foundation/pki/pki.js";
import { sendJson } from "../apiserver/http-io.js";
import type { ExtraRouteHandler, User } from "../apiserver/index.js";

export const controlPlaneJoinPath = "/apis/kctl.io/v1/control-plane-join";

export interface ControlPlaneJoinResponse {
  ca: KeyPair;
  /** Absent when the cluster uses an external etcd: the joiner must be given its endpoints and certificates. */
  etcdCa?: KeyPair;
  adminToken: string;
  /** The ServiceAccount token signing key (PEM): every control plane must sign and verify with it. */
  serviceAccountKey: string;
  etcdEndpoints: string[];
}

export interface ControlPlaneJoinDeps {
  ca: KeyPair;
  etcdCa: KeyPair | undefined;
  adminToken: string;
  serviceAccountKey: string;
  etcdEndpoints: () => Promise<string[]>;
  mayJoin: (user: User) => boolean;
  spendTokenUse: (user: User) => Promise<void>;
}

export function controlPlaneJoinRoutes(deps: ControlPlaneJoinDeps): Record<string, ExtraRouteHandler> {
  return {
    [controlPlaneJoinPath]: async (req, res, user) => {
      if (req.method !== "POST")
        throw new ApiError("MethodNotAllowed", `${req.method} is not allowed on ${controlPlaneJoinPath}`);
      if (!deps.mayJoin(user)) {
        throw new ApiError(
          "Forbidden",
          `user "${user.name}" may not join a control plane: use a token from "kctl token create --control-plane"`,
        );
      }
      await deps.spendTokenUse(user);
      const body: ControlPlaneJoinResponse = {
        ca: deps.ca,
        ...(deps.etcdCa ? { etcdCa: deps.etcdCa } : {}),
        adminToken: deps.adminToken,
        serviceAccountKey: deps.serviceAccountKey,
        etcdEndpoints: await deps.etcdEndpoints(),
      };
      res.setHeader("cache-control", "no-store");
      sendJson(res, 200, body);
    },
  };
}
