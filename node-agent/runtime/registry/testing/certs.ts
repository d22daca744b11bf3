/**
 * Test certificates made with openssl: a CA and a server certificate it signs for 127.0.0.1 (for a
 * TLS registry), and a self-signed key pair for a token issuer (the registry trusts it through
 * `auth.token.rootcertbundle`).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCerts {
  dir: string;
  caCert: string;
  serverCert: string;
  serverKey: string;
  tokenCert: string;
  tokenKey: string;
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

export function makeTestCerts(dir: string): TestCerts {
  mkdirSync(dir, { recursive: true });
  const p = (name: string) => join(dir, name);
  const subj = (cn: string) => ["-subj", `/CN=${cn}`];
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-keyout",
    p("ca.key"),
    "-out",
    p("ca.crt"),
    ...subj("kctl test CA"),
  ]);
  openssl([
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    p("server.key"),
    "-out",
    p("server.csr"),
    ...subj("127.0.0.1"),
  ]);
  writeFileSync(p("server.ext"), "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
  openssl([
    "x509",
    "-req",
    "-days",
    "2",
    "-in",
    p("server.csr"),
    "-CA",
    p("ca.crt"),
    "-CAkey",
    p("ca.key"),
    "-CAcreateserial",
    "-extfile",
    p("server.ext"),
    "-out",
    p("server.crt"),
  ]);
  openssl([
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-days",
    "2",
    "-keyout",
    p("token.key"),
    "-out",
    p("token.crt"),
    ...subj("kctl test token issuer"),
  ]);
  return {
    dir,
    caCert: p("ca.crt"),
    serverCert: p("server.crt"),
    serverKey: p("server.key"),
    tokenCert: p("token.crt"),
    tokenKey: p("token.key"),
  };
}

/** The base64 DER of the first certificate in a PEM file (a JWT `x5c` entry). */
export function pemToDerBase64(pemFile: string): string {
  const pem = readFileSync(pemFile, "utf8");
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error(`${pemFile}: no certificate`);
  return m[1]!.replace(/\s+/g, "");
}
