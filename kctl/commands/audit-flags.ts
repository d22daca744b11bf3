/**
 * `kctl up`'s audit log flags, as kube-apiserver's: `--audit-log-path` turns the log on,
 * `--audit-log-level` (Metadata or Request; upstream sets it in a policy file), `--audit-log-maxsize`
 * (MiB before rotation, default 100) and `--audit-log-maxbackup` (rotated files kept, default 10).
 */
import { type AuditLevel, type AuditOptions, auditLevels } from "../../controlplane/control-plane.js";
import type { FlagSpec, Flags } from "../args.js";
import { UsageError } from "../errors.js";

export const auditFlags: FlagSpec[] = [
  {
    name: "audit-log-path",
    kind: "string",
    placeholder: "FILE",
    help: "write an audit event per API request here",
  },
  {
    name: "audit-log-level",
    kind: "string",
    placeholder: "LEVEL",
    help: "Metadata (who did what to which object; default) or Request (also the request body, except Secrets and ConfigMaps)",
  },
  {
    name: "audit-log-maxsize",
    kind: "int",
    placeholder: "MIB",
    help: "rotate the audit log at this size (default 100)",
  },
  {
    name: "audit-log-maxbackup",
    kind: "int",
    placeholder: "N",
    help: "rotated audit logs kept (default 10)",
  },
];

/** The control plane's audit option; empty without --audit-log-path, whose companions need it. */
export function auditOption(flags: Flags): { audit?: AuditOptions } {
  const path = flags.string("audit-log-path");
  const level = flags.string("audit-log-level");
  const maxSize = flags.int("audit-log-maxsize");
  const maxBackups = flags.int("audit-log-maxbackup");
  if (path === undefined) {
    const stray = [
      ["--audit-log-level", level],
      ["--audit-log-maxsize", maxSize],
      ["--audit-log-maxbackup", maxBackups],
    ].find(([, v]) => v !== undefined);
    if (stray) throw new UsageError(`${stray[0]} needs --audit-log-path`);
    return {};
  }
  if (path === "") throw new UsageError("--audit-log-path: give a file path");
  if (level !== undefined && (level === "None" || !auditLevels.includes(level as AuditLevel)))
    throw new UsageError(`--audit-log-level: "${level}" is not Metadata or Request`);
  if (maxSize !== undefined && maxSize < 1)
    throw new UsageError(`--audit-log-maxsize: ${maxSize} is not at least 1 (MiB)`);
  if (maxBackups !== undefined && maxBackups < 0)
    throw new UsageError(`--audit-log-maxbackup: ${maxBackups} is negative`);
  return {
    audit: {
      path,
      level: (level as AuditLevel | undefined) ?? "Metadata",
      ...(maxSize !== undefined ? { maxSizeBytes: maxSize * 1024 * 1024 } : {}),
      ...(maxBackups !== undefined ? { maxBackups } : {}),
    },
  };
}
