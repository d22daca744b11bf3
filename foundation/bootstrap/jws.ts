/**
 * kubeadm's signature of the cluster-info document with a bootstrap token (k8s.io/cluster-bootstrap
 * `ComputeDetachedSignature`): a compact JWS, HS256 keyed with the token's secret, `kid` the token's
 * id, with the payload left out (`header..signature`). A joiner that checks it knows the document
 * came from someone who holds its token, before it has sent that token anywhere.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

const b64url = (data: string | Buffer) => Buffer.from(data).toString("base64url");

function sign(content: string, tokenId: string, tokenSecret: string): { header: string; signature: string } {
  const header = b64url(JSON.stringify({ alg: "HS256", kid: tokenId }));
  const signature = createHmac("sha256", tokenSecret)
    .update(`${header}.${b64url(content)}`)
    .digest("base64url");
  return { header, signature };
}

/** The detached JWS (`header..signature`) of `content` for the token `tokenId.tokenSecret`. */
export function detachedJws(content: string, tokenId: string, tokenSecret: string): string {
  const { header, signature } = sign(content, tokenId, tokenSecret);
  return `${header}..${signature}`;
}

/** True when `jws` is the detached signature of `content` made with this token (any other header fails). */
export function verifyDetachedJws(
  content: string,
  jws: string,
  tokenId: string,
  tokenSecret: string,
): boolean {
  const want = Buffer.from(detachedJws(content, tokenId, tokenSecret));
  const got = Buffer.from(jws);
  return want.length === got.length && timingSafeEqual(want, got);
}
