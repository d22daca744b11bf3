/**
 * Builds on real containers (root): the busybox image of node-agent's test helpers in a store of
 * the test's own, RUN steps through kshim, the result read back from the store and run.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SHIM } from "../../native/testing/oci-runtimes.js";
import { buildBusyboxImage, ImageStore } from "../../node-agent/runtime/images/index.js";
import { type BuildOptions, build } from "./builder.js";
import { runStep } from "./run-step-linux.js";
import { DEMO_OUTPUT, writeDemoContext } from "./testing/demo-context.js";

const canRun = process.getuid?.() === 0 && existsSync(SHIM);
const BASE = "kctl.test/busybox:1";

describe.skipIf(!canRun)("kctl build on real containers", () => {
  let dir: string;
  let store: ImageStore;
  let context: string;
  let dockerfile: string;
  const steps: string[] = [];

  const options = (o: Partial<BuildOptions> = {}): BuildOptions => ({
    store,
    runtime: SHIM,
    dockerfile,
    file: "Dockerfile",
    context,
    tags: ["kctl.test/app:1"],
    buildArgs: new Map(),
    noCache: false,
    network: "none",
    pull: async (ref) => {
      throw new Error(`no pulls in this test (${ref})`);
    },
    progress: {
      step: (i, n, text) => steps.push(`[${i}/${n}] ${text}`),
      cached: () => steps.push("CACHED"),
      output: (text) => steps.push(`| ${text}`),
      done: () => undefined,
    },
    ...o,
  });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "kctl-build-"));
    store = new ImageStore(join(dir, "state"));
    const layout = join(dir, "busybox");
    await buildBusyboxImage(layout);
    await store.importLayout(layout, { name: BASE });
    context = join(dir, "context");
    dockerfile = await writeDemoContext(context, BASE);
  }, 120_000);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("builds a multi-stage Dockerfile whose image runs with every effect", async () => {
    const built = await build(options());
    expect(built.references).toEqual(["kctl.test/app:1"]);
    const image = await store.inspect("kctl.test/app:1");
    const config = (image.config as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({
      Env: expect.arrayContaining(["PORT=8080", "MODE=production"]),
      WorkingDir: "/srv",
      User: "app",
      ExposedPorts: { "8080/tcp": {} },
      Labels: expect.objectContaining({ "org.example.title": "demo app" }),
      Cmd: ["sh", "-c", "cat greeting.txt; id -u; pwd; echo $PORT $MODE; ls /etc/app"],
    });
    const rootfs = await store.prepareRootfs("kctl-build-test-run", "kctl.test/app:1");
    try {
      const ran = await runStep({
        runtime: SHIM,
        dir: join(dir, "run"),
        id: "kctl-build-test-run",
        rootfs: rootfs.path,
        args: config.Cmd as string[],
        env: config.Env as string[],
        cwd: config.WorkingDir as string,
        user: config.User as string,
        network: "none",
        where: "test",
      });
      expect(ran.output).toBe(DEMO_OUTPUT);
      expect(ran.exitCode).toBe(0);
    } finally {
      await rootfs.release();
    }
  }, 300_000);

  it("shows the output of a RUN that fails and tags nothing", async () => {
    const dockerfile = `FROM ${BASE}\nRUN echo to-stdout; echo to-stderr >&2; exit 3\n`;
    steps.length = 0;
    const failed = build(options({ dockerfile, tags: ["kctl.test/failed:1"] }));
    await expect(failed).rejects.toThrow(
      /^Dockerfile:2: RUN .*: exit code 3\n(to-stdout\nto-stderr|to-stderr\nto-stdout)$/,
    );
    await expect(store.inspect("kctl.test/failed:1")).rejects.toThrow(/not present/);
    // The progress was told the output while the step ran, before the build failed.
    expect(steps.filter((l) => l.startsWith("| ")).join("")).toMatch(/to-stdout\n/);
  }, 120_000);

  it("reuses every step of an unchanged build, and rebuilds from the first COPY of a changed file", async () => {
    const first = await build(options());
    steps.length = 0;
    const again = await build(options());
    // The same image, times included: nothing was built again.
    expect(again.manifestDigest).toBe(first.manifestDigest);
    const layerSteps = (log: string[]) =>
      log.flatMap((line, i) =>
        /\] (RUN|COPY|ADD) /.test(line)
          ? [`${line.replace(/^\[\d+\/\d+\] /, "")} ${log[i + 1] === "CACHED" ? "cached" : "ran"}`]
          : [],
      );
    expect(layerSteps(steps).every((l) => l.endsWith(" cached"))).toBe(true);
    await writeFile(join(context, "app", "b.conf"), "b changed\n");
    steps.length = 0;
    await build(options());
    expect(layerSteps(steps)).toEqual([
      "COPY app/ ./ ran",
      'RUN echo "$GREETING from $(cat name.txt)" > greeting.txt && rm name.txt ran',
      'RUN echo "app:x:1234:1234::/home/app:/bin/sh" >> /etc/passwd ran',
      "COPY --from=builder /etc/passwd /etc/passwd ran",
      "COPY --from=builder /src/greeting.txt /srv/ ran",
      "COPY app/*.conf /etc/app/ ran",
    ]);
    await writeFile(join(context, "app", "b.conf"), "b\n");
  }, 300_000);

  it("gives the same digest to two clean builds with the same SOURCE_DATE_EPOCH", async () => {
    const digests: string[] = [];
    for (const tag of ["kctl.test/repro:1", "kctl.test/repro:2"]) {
      const built = await build(options({ tags: [tag], noCache: true, epoch: 1_700_000_000 }));
      digests.push(built.manifestDigest);
      // The layers' files and the history carry the epoch, not the time of the build.
      const image = await store.inspect(tag);
      expect((image.config as { created: string }).created).toBe("2023-11-14T22:13:20Z");
    }
    expect(digests[0]).toBe(digests[1]);
  }, 300_000);

  it.each([
    [
      'FROM base\nRUN echo \'unterminated\nCOPY ["a"\n',
      "Dockerfile:3: COPY: needs at least one source and a destination",
    ],
    [`FROM ${BASE}\nCOPY missing.txt /x\n`, 'Dockerfile:2: COPY: "missing.txt" not found in'],
    [`FROM ${BASE}\nCOPY app/secret.conf /x\n`, "(excluded by .dockerignore)"],
    [
      `FROM ${BASE}\nWORKDIR $APPDIR\nARG APPDIR=/app\n`,
      "Dockerfile:2: WORKDIR: $APPDIR is not defined: no ARG or ENV before this line sets it",
    ],
    [`FROM ${BASE}\nONBUILD RUN true\n`, "Dockerfile:2: ONBUILD: not supported"],
  ])(
    "refuses bad input: %j",
    async (dockerfile, message) => {
      await expect(build(options({ dockerfile, tags: ["kctl.test/bad:1"] }))).rejects.toThrow(message);
      await expect(store.inspect("kctl.test/bad:1")).rejects.toThrow(/not present/);
    },
    120_000,
  );

  it("keeps a COPY inside the image when a base layer's symlink points at a host path", async () => {
    // The attacker's base image: /escape is a symlink to a directory of the host.
    const hostDir = join(dir, "host-target");
    await mkdir(hostDir);
    await build(
      options({ dockerfile: `FROM ${BASE}\nRUN ln -s ${hostDir} /escape\n`, tags: ["kctl.test/evil:1"] }),
    );
    await build(
      options({
        dockerfile: "FROM kctl.test/evil:1\nCOPY app/a.conf /escape/planted\n",
        tags: ["kctl.test/victim:1"],
      }),
    );
    await expect(access(join(hostDir, "planted"))).rejects.toThrow(/ENOENT/);
    const rootfs = await store.prepareRootfs("kctl-build-test-escape", "kctl.test/victim:1");
    try {
      await access(join(rootfs.path, hostDir, "planted"));
    } finally {
      await rootfs.release();
    }
  }, 120_000);

  it("records deletions as whiteouts and a replaced directory as opaque", async () => {
    const dockerfile = [
      `FROM ${BASE}`,
      "RUN mkdir -p /d/old && touch /d/old/x /d/keep",
      "RUN rm /bin/vi && rm -rf /d && mkdir /d && touch /d/new",
    ].join("\n");
    await build(options({ dockerfile, tags: ["kctl.test/whiteouts:1"] }));
    const image = await store.inspect("kctl.test/whiteouts:1");
    const last = image.manifest.layers.at(-1)!;
    const { stdout } = await promisify(execFile)("tar", [
      "-tzf",
      join(store.dir, "blobs", "sha256", last.digest.slice(7)),
    ]);
    const names = stdout.split("\n").filter(Boolean);
    expect(names).toContain("bin/.wh.vi");
    expect(names).toContain("d/.wh..wh..opq");
    const rootfs = await store.prepareRootfs("kctl-build-test-wh", "kctl.test/whiteouts:1");
    try {
      await expect(access(join(rootfs.path, "bin", "vi"))).rejects.toThrow(/ENOENT/);
      expect(await readdir(join(rootfs.path, "d"))).toEqual(["new"]);
    } finally {
      await rootfs.release();
    }
  }, 120_000);

  it("builds only the stages the target needs, and copies from a stage by its number", async () => {
    const dockerfile = [
      `FROM ${BASE} AS unused`,
      "RUN exit 1",
      `FROM ${BASE} AS a`,
      "RUN echo from-a > /a",
      `FROM ${BASE}`,
      "COPY --from=1 /a /a",
      'CMD ["cat", "/a"]',
    ].join("\n");
    steps.length = 0;
    await build(options({ dockerfile, tags: ["kctl.test/stages:1"] }));
    expect(steps.filter((l) => l.startsWith("["))).toEqual([
      `[1/5] FROM ${BASE} AS a`,
      "[2/5] RUN echo from-a > /a",
      `[3/5] FROM ${BASE}`,
      "[4/5] COPY --from=1 /a /a",
      '[5/5] CMD ["cat","/a"]',
    ]);
    await expect(
      build(options({ dockerfile, target: "unused", tags: ["kctl.test/stages:2"] })),
    ).rejects.toThrow(/^Dockerfile:2: RUN \/bin\/sh -c exit 1: exit code 1$/);
  }, 120_000);

  it("unpacks a local tar archive with ADD and copies any other file", async () => {
    const files = join(dir, "archive-src");
    await mkdir(join(files, "sub"), { recursive: true });
    await writeFile(join(files, "sub", "in-archive.txt"), "from the archive\n");
    await promisify(execFile)("tar", ["-czf", join(context, "files.tar.gz"), "-C", files, "."]);
    await writeFile(join(context, "plain.txt"), "plain\n");
    const dockerfile = `FROM ${BASE}\nADD files.tar.gz plain.txt /opt/\n`;
    await build(options({ dockerfile, tags: ["kctl.test/add:1"] }));
    const rootfs = await store.prepareRootfs("kctl-build-test-add", "kctl.test/add:1");
    try {
      expect(await readdir(join(rootfs.path, "opt")).then((n) => n.sort())).toEqual(["plain.txt", "sub"]);
      expect(await readFile(join(rootfs.path, "opt", "sub", "in-archive.txt"), "utf8")).toBe(
        "from the archive\n",
      );
    } finally {
      await rootfs.release();
    }
  }, 120_000);

  it("records SHELL, ENTRYPOINT, CMD, VOLUME, STOPSIGNAL, HEALTHCHECK and --build-arg in the config", async () => {
    const dockerfile = [
      `FROM ${BASE}`,
      "ARG FLAVOUR=plain",
      'SHELL ["/bin/sh", "-ec"]',
      "RUN echo $FLAVOUR > /flavour",
      "ENTRYPOINT cat /flavour",
      "VOLUME /data",
      "STOPSIGNAL SIGINT",
      "HEALTHCHECK --interval=5s --retries=2 CMD test -f /flavour",
      "ENV FLAVOUR=$FLAVOUR",
    ].join("\n");
    await build(
      options({ dockerfile, tags: ["kctl.test/config:1"], buildArgs: new Map([["FLAVOUR", "spicy"]]) }),
    );
    const image = await store.inspect("kctl.test/config:1");
    const config = (image.config as { config: Record<string, unknown> }).config;
    expect(config).toMatchObject({
      Shell: ["/bin/sh", "-ec"],
      Entrypoint: ["/bin/sh", "-ec", "cat /flavour"],
      Volumes: { "/data": {} },
      StopSignal: "SIGINT",
      Healthcheck: { Test: ["CMD-SHELL", "test -f /flavour"], Interval: 5e9, Retries: 2 },
      Env: expect.arrayContaining(["FLAVOUR=spicy"]),
    });
    // The base image's CMD goes with a new ENTRYPOINT, as docker build does.
    expect(config.Cmd).toBeUndefined();
    const rootfs = await store.prepareRootfs("kctl-build-test-config", "kctl.test/config:1");
    try {
      expect(await readFile(join(rootfs.path, "flavour"), "utf8")).toBe("spicy\n");
    } finally {
      await rootfs.release();
    }
  }, 120_000);

  it("reads a COPY --from source inside that image when its symlink points at a host path", async () => {
    // The attacker's image: /link is a symlink to a host directory holding a secret.
    const hostDir = join(dir, "host-secret");
    await mkdir(hostDir);
    await writeFile(join(hostDir, "secret"), "host only\n");
    await build(
      options({ dockerfile: `FROM ${BASE}\nRUN ln -s ${hostDir} /link\n`, tags: ["kctl.test/lure:1"] }),
    );
    const stolen = build(
      options({
        dockerfile: `FROM ${BASE}\nCOPY --from=kctl.test/lure:1 /link/secret /stolen\n`,
        tags: ["kctl.test/thief:1"],
      }),
    );
    await expect(stolen).rejects.toThrow(/^Dockerfile:2: COPY: "\/link\/secret" not found in /);
    await expect(store.inspect("kctl.test/thief:1")).rejects.toThrow(/not present/);
  }, 120_000);
});
