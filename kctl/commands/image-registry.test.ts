/**
 * `kctl image push|pull|list|rm` against the real registry (Debian's docker-registry) with a real
 * image store: the busybox image goes up and comes back by digest, with Basic auth from
 * --password-stdin and from a docker config file; bad input is refused naming the flag or ref.
 * Root: the store unpacks layers when it imports.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeScratchDir, removeScratchDir } from "../../node-agent/network/testing/scratch-linux.js";
import { buildBusyboxImage } from "../../node-agent/runtime/images/busybox-image.js";
import {
  htpasswdAuthConfig,
  type RegistryServer,
  startRegistry,
} from "../../node-agent/runtime/registry/testing/registry-server.js";
import { runKctl } from "../testing/run-kctl.js";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("kctl image push/pull/list/rm (root)", () => {
  let scratch: string;
  let registry: RegistryServer;
  let layout: string;
  let digest: string;
  const state = () => ["--state-dir", join(scratch, "state")];

  beforeAll(async () => {
    scratch = makeScratchDir("kctl-image-cli");
    registry = await startRegistry({
      dir: join(scratch, "registry"),
      auth: htpasswdAuthConfig(join(scratch, "htpasswd"), "alice", "s3cret"),
    });
    layout = join(scratch, "busybox");
    digest = await buildBusyboxImage(layout, { reference: "local/busybox:1" });
  });
  afterAll(async () => {
    await registry?.stop();
    removeScratchDir(scratch);
  });

  it("pushes from a layout with --password-stdin, pulls back with a docker config file, lists digest and size, removes", async () => {
    const remote = `${registry.host}/team/busybox:1`;
    const pushed = await runKctl(
      [
        "image",
        "push",
        "local/busybox:1",
        remote,
        "--from",
        layout,
        "--username",
        "alice",
        "--password-stdin",
        ...state(),
      ],
      { stdin: "s3cret\n" },
    );
    expect(pushed.stderr).toBe("");
    // Piped: no progress lines, only the result.
    expect(pushed.stdout).toBe(`image/${remote} pushed (${digest}): 2 blobs uploaded, 0 mounted\n`);
    expect((await runKctl(["image", "list", ...state()])).stdout).toBe("No images.\n");

    const authfile = join(scratch, "config.json");
    const auth = Buffer.from("alice:s3cret").toString("base64");
    await writeFile(authfile, JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const pulled = await runKctl(["image", "pull", remote, "--authfile", authfile, ...state()]);
    expect(pulled.stderr).toBe("");
    expect(pulled.stdout).toMatch(
      new RegExp(`^image/${remote.replace(/\./g, "\\.")} pulled \\(${digest}\\) in [0-9.]+s\\n$`),
    );

    const list = await runKctl(["image", "list", ...state()]);
    expect(list.stdout).toMatch(
      new RegExp(
        `^IMAGE\\s+DIGEST\\s+ID\\s+SIZE\\n${remote.replace(/\./g, "\\.")}\\s+${digest}\\s+sha256:\\w{12}\\s+[0-9.]+[kM]B\\n$`,
      ),
    );

    expect((await runKctl(["image", "rm", remote, ...state()])).stdout).toBe(`image/${remote} removed\n`);
    expect((await runKctl(["image", "list", ...state()])).stdout).toBe("No images.\n");
  });

  it("refuses bad input naming the flag or reference", async () => {
    const remote = `${registry.host}/team/busybox:1`;
    const cases: [string[], RegExp][] = [
      [["image", "pull", remote, "--username", "alice"], /--username needs --password-stdin/],
      [["image", "pull", remote, "--password-stdin"], /--password-stdin needs --username/],
      [["image", "pull", "Bad//Ref"], /REF: "Bad\/\/Ref" is not an image reference/],
      [["image", "push", "local/busybox:1", "UPPER/x"], /REMOTE-REF: "UPPER\/x" is not an image reference/],
      [
        ["image", "push", "local/busybox:1", remote, "--from", join(scratch, "nope")],
        /--from: .*nope: no such file/,
      ],
      [["image", "pull", remote, "--authfile", join(scratch, "nope.json")], /--authfile: .*nope\.json/],
      [
        ["image", "pull", remote, "--registry-config", join(scratch, "nope.yaml")],
        /--registry-config: .*nope\.yaml: cannot read/,
      ],
      [
        ["image", "rm", "never/there:1"],
        /image "never\/there:1" \(docker\.io\/never\/there:1\) is not on this node/,
      ],
    ];
    for (const [argv, message] of cases) {
      const res = await runKctl([...argv, ...state()], { stdin: "" });
      expect(res.code, argv.join(" ")).not.toBe(0);
      expect(res.stderr, argv.join(" ")).toMatch(message);
    }
    // Wrong credentials: the registry's refusal, one line.
    const denied = await runKctl(
      ["image", "pull", remote, "--username", "alice", "--password-stdin", ...state()],
      {
        stdin: "wrong\n",
      },
    );
    expect(denied.code).toBe(1);
    expect(denied.stderr.trim().split("\n")).toHaveLength(1);
    expect(denied.stderr).toMatch(/unauthor/i);
  });
});
