/**
 * buildah as the builder's peer (tests and benchmark): Debian's buildah with its own storage in a
 * scratch dir (vfs driver) and `--isolation chroot` (no container engine or user namespace setup
 * here), pulling from the test registry over plain HTTP; the result is written as an OCI layout.
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface BuildahBuild {
  /** Scratch dir for buildah's storage (root and runroot). */
  work: string;
  context: string;
  /** OCI layout dir to write the image to; omitted: the image stays in buildah's storage. */
  out?: string;
  noCache?: boolean;
}

export async function buildahBuild(b: BuildahBuild): Promise<void> {
  const global = [
    "--root",
    join(b.work, "root"),
    "--runroot",
    join(b.work, "runroot"),
    "--storage-driver",
    "vfs",
  ];
  await run(
    "buildah",
    [
      ...global,
      "bud",
      "--isolation",
      "chroot",
      "--tls-verify=false",
      "--layers",
      ...(b.noCache ? ["--no-cache"] : []),
      "-q",
      "-t",
      "localhost/kctl-build-peer:1",
      b.context,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 300_000 },
  );
  if (b.out !== undefined) {
    await run("buildah", [...global, "push", "localhost/kctl-build-peer:1", `oci:${b.out}:peer`], {
      timeout: 120_000,
    });
  }
}
