/**
 * Authentication by client certificate: a certificate the cluster CA signed names its holder
 * (user = CN, groups = each O, as upstream), unless its key was revoked. The TLS layer has checked
 * the signature and dates; this module reads the subject and asks about the key.
 */
import { X509Certificate } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { ApiError } from "../../foundation/api/errors.js";
import { publicKeyHash } from "../../foundation/pki/pki.js";
import type { Identity } from "./authorization.js";

/** Whether a client key (`publicKeyHash`, `sha256:<hex>`) was revoked. */
export type KeyRevoked = (keyHash: string) => boolean;

// A connection's certificate cannot change (no renegotiation), so its key is hashed once.
const keyHashes = new WeakMap<TLSSocket, string>();

function keyHashOf(socket: TLSSocket): string {
  let hash = keyHashes.get(socket);
  if (hash === undefined) {
    hash = publicKeyHash(new X509Certificate(socket.getPeerCertificate().raw).publicKey);
    keyHashes.set(socket, hash);
  }
  return hash;
}

/**
 * The user a verified client certificate names; undefined without one (the request may bring a
 * token instead). Throws Unauthorized when `keyRevoked` says the certificate's key was revoked.
 */
export function certificateUser(req: IncomingMessage, keyRevoked?: KeyRevoked): Identity | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.encrypted || !socket.authorized) return undefined;
  const subject = socket.getPeerCertificate()?.subject;
  const cn = subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (!name) return undefined;
  if (keyRevoked?.(keyHashOf(socket))) {
    throw new ApiError("Unauthorized", `Unauthorized: the client certificate of "${name}" has a revoked key`);
  }
  const o = subject.O;
  return { name, groups: o === undefined ? [] : Array.isArray(o) ? o : [o] };
}
