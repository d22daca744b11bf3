import { mkdtemp, readFile, rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AuditLog, type AuditRecord } from "./audit.js";
import type { RequestAttributes } from "./authorization.js";

const request = (url: string) =>
  ({
    url,
    headers: { "user-agent": "kubectl/v1.32.0", "x-forwarded-for": "10.0.0.9" },
    socket: { remoteAddress: "127.0.0.1" },
  }) as unknown as IncomingMessage;

const attrs = (verb: string, resource: string, name?: string): RequestAttributes => ({
  user: "jane",
  groups: ["dev", "system:authenticated"],
  verb,
  resource: {
    apiGroup: resource === "deployments" ? "apps" : "",
    resource,
    namespace: "team",
    ...(name ? { name } : {}),
  },
  path: "",
});

const record = (
  verb: string,
  resource: string,
  body?: object,
  extra: Partial<AuditRecord> = {},
): AuditRecord => ({
  req: request(`/api/v1/namespaces/team/${resource}`),
  user: { name: "jane", groups: ["dev", "system:authenticated"] },
  attrs: attrs(verb, resource, "web"),
  allowed: true,
  code: 201,
  receivedAt: new Date("2026-12-07T01:00:00Z"),
  ...(body ? { requestBody: Buffer.from(JSON.stringify(body)) } : {}),
  ...extra,
});

describe("the audit log", () => {
  let dir: string;
  let path: string;
  const lines = async (file = path) =>
    (await readFile(file, "utf8"))
      .trim()
      .split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-audit-"));
    path = join(dir, "audit.log");
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes upstream's Event shape at Metadata, with the decision and a failure's Status", async () => {
    const log = new AuditLog({ path, level: "Metadata" });
    log.record(record("create", "deployments", { spec: { replicas: 3 } }), new Date("2026-12-07T01:00:01Z"));
    log.record(
      record("create", "secrets", undefined, {
        allowed: false,
        code: 403,
        status: { status: "Failure", reason: "Forbidden", message: "secrets is forbidden" },
      }),
    );
    const [created, refused] = await lines();
    expect(created).toMatchObject({
      kind: "Event",
      apiVersion: "audit.k8s.io/v1",
      level: "Metadata",
      stage: "ResponseComplete",
      requestURI: "/api/v1/namespaces/team/deployments",
      verb: "create",
      user: { username: "jane", groups: ["dev", "system:authenticated"] },
      sourceIPs: ["10.0.0.9", "127.0.0.1"],
      userAgent: "kubectl/v1.32.0",
      objectRef: { resource: "deployments", namespace: "team", name: "web", apiGroup: "apps" },
      responseStatus: { metadata: {}, code: 201 },
      requestReceivedTimestamp: "2026-12-07T01:00:00.000Z",
      stageTimestamp: "2026-12-07T01:00:01.000Z",
      annotations: { "authorization.k8s.io/decision": "allow" },
    });
    expect(created.auditID).toMatch(/^[0-9a-f-]{36}$/);
    expect(created.requestObject).toBeUndefined();
    expect(refused.responseStatus).toEqual({
      metadata: {},
      code: 403,
      status: "Failure",
      reason: "Forbidden",
      message: "secrets is forbidden",
    });
    expect(refused.annotations).toEqual({ "authorization.k8s.io/decision": "forbid" });
  });

  it("logs bodies at Request, but never a Secret's or ConfigMap's", async () => {
    const log = new AuditLog({ path, level: "Request" });
    log.record(record("create", "deployments", { spec: { replicas: 3 } }));
    log.record(record("create", "secrets", { data: { password: "aHVudGVyMg==" } }));
    log.record(record("update", "configmaps", { data: { key: "v" } }));
    const [deployment, secret, configMap] = await lines();
    expect(deployment.level).toBe("Request");
    expect(deployment.requestObject).toEqual({ spec: { replicas: 3 } });
    for (const e of [secret, configMap]) {
      expect(e.level).toBe("Metadata");
      expect(e.requestObject).toBeUndefined();
    }
    expect(await readFile(path, "utf8")).not.toContain("aHVudGVyMg==");
  });

  it("rotates by size, keeping maxBackups files, and writes nothing at None", async () => {
    const log = new AuditLog({ path, level: "Metadata", maxSizeBytes: 1500, maxBackups: 2 });
    for (let i = 0; i < 12; i++) log.record(record("get", "pods"));
    const current = await lines();
    const first = await lines(`${path}.1`);
    const second = await lines(`${path}.2`);
    expect(current.length + first.length + second.length).toBeLessThan(12);
    expect(first.length).toBeGreaterThan(0);
    await expect(readFile(`${path}.3`)).rejects.toThrow(/ENOENT/);
    const none = new AuditLog({ path: join(dir, "none.log"), level: "None" });
    none.record(record("get", "pods"));
    expect(await readFile(join(dir, "none.log"), "utf8")).toBe("");
  });

  it("fails at start, naming the file, when it cannot be written, and refuses an unknown level", () => {
    expect(() => new AuditLog({ path: join(dir, "missing", "audit.log"), level: "Metadata" })).toThrow(
      /ENOENT.*missing\/audit\.log/,
    );
    expect(() => new AuditLog({ path, level: "Everything" as "Metadata" })).toThrow(
      /audit level "Everything" is not one of None, Metadata, Request/,
    );
  });
});
