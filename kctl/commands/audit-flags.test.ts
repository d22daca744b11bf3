import { describe, expect, it } from "vitest";
import { parseFlags } from "../testing/parse-flags.js";
import { auditFlags, auditOption } from "./audit-flags.js";

const command = { name: "up", flags: auditFlags };
const parse = (...argv: string[]) => parseFlags(command, argv);

describe("kctl up --audit-log-*", () => {
  it("is off without a path, and defaults to Metadata, 100 MiB, 10 backups otherwise", async () => {
    expect(auditOption(await parse())).toEqual({});
    expect(auditOption(await parse("--audit-log-path", "/var/log/a.log"))).toEqual({
      audit: { path: "/var/log/a.log", level: "Metadata" },
    });
    expect(
      auditOption(
        await parse(
          "--audit-log-path",
          "a.log",
          "--audit-log-level",
          "Request",
          "--audit-log-maxsize",
          "5",
          "--audit-log-maxbackup",
          "0",
        ),
      ),
    ).toEqual({ audit: { path: "a.log", level: "Request", maxSizeBytes: 5 * 1024 * 1024, maxBackups: 0 } });
  });

  it("refuses what it cannot honour, naming the flag", async () => {
    expect(auditOption.bind(null, await parse("--audit-log-level", "Request"))).toThrow(
      "--audit-log-level needs --audit-log-path",
    );
    expect(auditOption.bind(null, await parse("--audit-log-path", "a", "--audit-log-level", "None"))).toThrow(
      '--audit-log-level: "None" is not Metadata or Request',
    );
    expect(
      auditOption.bind(null, await parse("--audit-log-path", "a", "--audit-log-level", "RequestResponse")),
    ).toThrow('--audit-log-level: "RequestResponse" is not Metadata or Request');
    expect(auditOption.bind(null, await parse("--audit-log-path", "a", "--audit-log-maxsize", "0"))).toThrow(
      "--audit-log-maxsize: 0 is not at least 1 (MiB)",
    );
    expect(
      auditOption.bind(null, await parse("--audit-log-path", "a", "--audit-log-maxbackup", "-1")),
    ).toThrow("--audit-log-maxbackup: -1 is negative");
  });
});
