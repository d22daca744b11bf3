import { X509Certificate } from "node:crypto";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  controlPlaneServerName,
  ensureCa,
  ensureServingCert,
  generateKey,
  issueCertificate,
  makeCsr,
  signCsr,
} from "./pki.js";

describe("pki", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "pki-test-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("makes a CA once and keeps it across calls", async () => {
    const first = await ensureCa(dir);
    const second = await ensureCa(dir);
    expect(second.certPem).toBe(first.certPem);
    expect(new X509Certificate(first.certPem).ca).toBe(true);
    expect((await stat(join(dir, "ca.key"))).mode & 0o777).toBe(0o600);
  });

  it("issues a serving certificate for the given hosts, signed by the CA", async () => {
    const ca = await ensureCa(dir);
    const pair = await ensureServingCert(dir, ca, {
      commonName: "kctl-apiserver",
      hosts: ["127.0.0.1", "localhost"],
    });
    const cert = new X509Certificate(pair.certPem);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    // The name agents verify, so they need not send an IP as the TLS server name.
    expect(cert.checkHost(controlPlaneServerName)).toBe(controlPlaneServerName);
    const again = await ensureServingCert(dir, ca, { commonName: "kctl-apiserver", hosts: ["127.0.0.1"] });
    expect(again.certPem).toBe(pair.certPem);
    const widened = await ensureServingCert(dir, ca, { commonName: "kctl-apiserver", hosts: ["10.1.2.3"] });
    expect(new X509Certificate(widened.certPem).checkIP("10.1.2.3")).toBe("10.1.2.3");
  });

  it("issues client certificates with the organization as group", async () => {
    const ca = await ensureCa(dir);
    const pair = await issueCertificate(ca, {
      commonName: "system:node:n1",
      organization: "system:nodes",
      client: true,
    });
    expect(new X509Certificate(pair.certPem).subject).toContain("O=system:nodes");
  });
});

describe("signCsr", () => {
  it("takes the subject from the signer, not from the request", async () => {
    const dir = await mkdtemp(join(tmpdir(), "pki-csr-"));
    try {
      const ca = await ensureCa(dir);
      const key = await generateKey();
      const csr = await makeCsr(key, "system:node:someone-else");
      const cert = new X509Certificate(
        await signCsr(ca, csr, { commonName: "system:node:n1", organization: "system:nodes", client: true }),
      );
      expect(cert.subject).toContain("CN=system:node:n1");
      expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
