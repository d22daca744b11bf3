/**
 * The cluster's certificates: a CA made once when a cluster is created, the apiserver's serving
 * certificate, and client certificates signed on request (node agents get theirs when they join).
 * Keys are ECDSA P-256 made with the system `openssl`, written with mode 0600; existing files are
 * kept, so a restarted cluster keeps its identity and every issued kubeconfig stays valid.
 */
import { execFile } from "node:child_process";
import { createHash, createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export class PkiError extends Error {
  constructor(step: string, cause: unknown) {
    super(`pki: ${step}: ${(cause as Error).message ?? String(cause)}`);
    this.name = "PkiError";
  }
}

export interface KeyPair {
  certPem: string;
  keyPem: string;
}

export interface ServingCertOptions {
  /** DNS names and IP addresses the certificate must be valid for. */
  hosts: string[];
  commonName: string;
}

const days = "3650";

async function openssl(step: string, args: string[], input?: string): Promise<string> {
  try {
    const child = run("openssl", args, { encoding: "utf8" });
    if (input !== undefined) {
      child.child.stdin?.end(input);
    }
    return (await child).stdout;
  } catch (err) {
    throw new PkiError(`${step} (openssl ${args[0]})`, err);
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** A new ECDSA P-256 private key (PEM). */
export async function generateKey(): Promise<string> {
  return openssl("generate key", ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"]);
}

/** Loads `ca.crt`/`ca.key` from `dir`, creating them the first time. */
export async function ensureCa(dir: string, name = "kctl-ca"): Promise<KeyPair> {
  const certPath = join(dir, "ca.crt");
  const keyPath = join(dir, "ca.key");
  if (await exists(certPath)) {
    return { certPem: await readFile(certPath, "utf8"), keyPem: await readFile(keyPath, "utf8") };
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPem = await generateKey();
  const certPem = await withTempFiles({ "ca.key": keyPem }, (files) =>
    openssl("self-sign CA", [
      "req",
      "-x509",
      "-new",
      "-key",
      files["ca.key"]!,
      "-subj",
      `/CN=${name}`,
      "-days",
      days,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    ]),
  );
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  await writeFile(certPath, certPem, { mode: 0o644 });
  return { certPem, keyPem };
}

/**
 * Loads the ServiceAccount token signing key `sa.key` from `dir`, creating it the first time (as
 * kubeadm's `sa.key`). Every control plane of a cluster must sign with the same key.
 */
export async function ensureServiceAccountKey(dir: string): Promise<string> {
  const keyPath = join(dir, "sa.key");
  if (await exists(keyPath)) return readFile(keyPath, "utf8");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const keyPem = await generateKey();
  await writeFile(keyPath, keyPem, { mode: 0o600, flag: "wx" });
  return keyPem;
}

export interface CertificateSubject {
  commonName: string;
  hosts?: string[];
  /** One or more O entries (Kubernetes reads each as a group). */
  organization?: string | readonly string[];
  client?: boolean;
  /** How long the certificate is valid; 3650 days when omitted. */
  validityDays?: number;
}

/**
 * Signs a certificate for `commonName` with the CA, with a new key. Serving certificates list
 * `hosts` as SANs; client certificates carry `organization` (used as the group, like Kubernetes'
 * `system:nodes`).
 */
export async function issueCertificate(ca: KeyPair, opts: CertificateSubject): Promise<KeyPair> {
  const keyPem = await generateKey();
  return { certPem: await signCsr(ca, await makeCsr(keyPem, opts.commonName), opts), keyPem };
}

/** A certificate signing request for `keyPem`; the node agent makes one so its key never leaves the node. */
export async function makeCsr(keyPem: string, commonName: string): Promise<string> {
  return withTempFiles({ "key.pem": keyPem }, (files) =>
    openssl("make CSR", ["req", "-new", "-key", files["key.pem"]!, "-subj", `/CN=${commonName}`]),
  );
}

/** `sha256:<hex>` of a public key's SubjectPublicKeyInfo: how a node's key is recorded and compared. */
export function publicKeyHash(key: KeyObject): string {
  return `sha256:${createHash("sha256")
    .update(key.export({ type: "spki", format: "der" }))
    .digest("hex")}`;
}

/**
 * The hash (`publicKeyHash`) of the key in a CSR, after checking the CSR's signature: a valid CSR
 * proves its sender holds that key. Throws PkiError for a malformed or badly signed CSR.
 */
export async function csrPublicKeyHash(csrPem: string): Promise<string> {
  // `-verify` makes openssl fail unless the request is signed by the key it carries.
  const pem = await openssl("verify CSR", ["req", "-noout", "-verify", "-pubkey"], csrPem);
  try {
    return publicKeyHash(createPublicKey(pem));
  } catch (err) {
    throw new PkiError("read CSR public key", err);
  }
}

/**
 * Signs `csrPem` with the CA. The subject and extensions come from `opts`, never from the request,
 * so a requester gets only the identity the caller decided to give it.
 */
export async function signCsr(ca: KeyPair, csrPem: string, opts: CertificateSubject): Promise<string> {
  const orgs = typeof opts.organization === "string" ? [opts.organization] : (opts.organization ?? []);
  // openssl's -subj takes `/` as a separator and `\` as its escape: escape both in names.
  const esc = (v: string) => v.replace(/[\\/]/g, (ch) => `\\${ch}`);
  const subject = `/CN=${esc(opts.commonName)}${orgs.map((o) => `/O=${esc(o)}`).join("")}`;
  const san = (opts.hosts ?? []).map((h) => (isIP(h) ? `IP:${h}` : `DNS:${h}`)).join(",");
  const ext = [
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    `extendedKeyUsage=${opts.client ? "clientAuth" : "serverAuth,clientAuth"}`,
    ...(san ? [`subjectAltName=${san}`] : []),
  ].join("\n");
  return withTempFiles({ "ca.crt": ca.certPem, "ca.key": ca.keyPem, "ext.cnf": ext }, (files) =>
    openssl(
      "sign certificate",
      [
        "x509",
        "-req",
        "-CA",
        files["ca.crt"]!,
        "-CAkey",
        files["ca.key"]!,
        "-CAcreateserial",
        "-subj",
        subject,
        "-days",
        String(opts.validityDays ?? days),
        "-extfile",
        files["ext.cnf"]!,
      ],
      csrPem,
    ),
  );
}

/**
 * A DNS name every serving certificate carries besides its hosts. Node agents verify the control
 * plane by it: they reach it by IP, and TLS clients may not send an IP as the server name (SNI),
 * so grpc-js would warn on every agent start.
 */
export const controlPlaneServerName = "kctl-control-plane";

/** Loads the apiserver's serving key pair from `dir`, issuing it the first time or when its SANs no longer cover `hosts`. */
export async function ensureServingCert(
  dir: string,
  ca: KeyPair,
  given: ServingCertOptions,
): Promise<KeyPair> {
  const hosts = [...new Set([...given.hosts, controlPlaneServerName])];
  return ensureCertFiles(join(dir, "apiserver"), ca, { commonName: given.commonName, hosts });
}

/**
 * The key pair at `<base>.crt`/`<base>.key`, issued by `ca` for `subject`. Kept when it exists,
 * was signed by this CA and covers every host of `subject`; issued anew otherwise (a new address,
 * or a CA replaced by a control-plane join).
 */
export async function ensureCertFiles(
  base: string,
  ca: KeyPair,
  subject: CertificateSubject,
): Promise<KeyPair> {
  const certPath = `${base}.crt`;
  const keyPath = `${base}.key`;
  if (await exists(certPath)) {
    const pair = { certPem: await readFile(certPath, "utf8"), keyPem: await readFile(keyPath, "utf8") };
    const x509 = new X509Certificate(pair.certPem);
    const covered = (subject.hosts ?? []).every((h) => (isIP(h) ? x509.checkIP(h) : x509.checkHost(h)));
    if (covered && x509.verify(new X509Certificate(ca.certPem).publicKey)) return pair;
  }
  const pair = await issueCertificate(ca, subject);
  await writeFile(keyPath, pair.keyPem, { mode: 0o600 });
  await writeFile(certPath, pair.certPem, { mode: 0o644 });
  return pair;
}

async function withTempFiles<T>(
  contents: Record<string, string>,
  fn: (paths: Record<string, string>) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "kctl-pki-"));
  try {
    const paths: Record<string, string> = {};
    for (const [name, text] of Object.entries(contents)) {
      paths[name] = join(dir, name);
      await writeFile(paths[name], text, { mode: 0o600 });
    }
    return await fn(paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
