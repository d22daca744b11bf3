/**
 * The HAProxy image as the ingress pods run it: built, unpacked, and its entrypoint run by chroot in
 * network and mount namespaces of the test's own (`unshare --net --mount`), where it serves the config, reloads on a
 * new one without dropping the listener, keeps running on an invalid one, and stops on SIGTERM.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildHaproxyImage, HAPROXY_ENTRYPOINT, LOCAL_HAPROXY_IMAGE } from "./haproxy-image.js";

const answer = (text: string) => `global
  master-worker
defaults
  mode http
  timeout connect 1s
  timeout client 5s
  timeout server 5s
frontend f
  bind 127.0.0.1:8080
  http-request return status 200 content-type text/plain string "${text}"
`;

describe.skipIf(process.getuid?.() !== 0)("kctl.local/haproxy:debian", () => {
  const dir = mkdtempSync(join(tmpdir(), "haproxy-image-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is named for what it is and carries the Debian package version", async () => {
    const layout = join(dir, "layout");
    await buildHaproxyImage(layout);
    const index = JSON.parse(readFileSync(join(layout, "index.json"), "utf8"));
    expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe(LOCAL_HAPROXY_IMAGE);
    const manifest = JSON.parse(
      readFileSync(join(layout, "blobs/sha256", index.manifests[0].digest.slice(7)), "utf8"),
    );
    const config = JSON.parse(
      readFileSync(join(layout, "blobs/sha256", manifest.config.digest.slice(7)), "utf8"),
    );
    const version = execFileSync("dpkg-query", ["-W", `-f=\${Version}`, "haproxy"], { encoding: "utf8" });
    expect(config.config.Labels["org.opencontainers.image.version"]).toBe(version);
    expect(config.config.Cmd).toEqual([HAPROXY_ENTRYPOINT]);

    // Unpack the one layer and run the entrypoint inside it, as the container would.
    const root = join(dir, "root");
    execFileSync("mkdir", ["-p", root]);
    execFileSync("tar", [
      "-xzf",
      join(layout, "blobs/sha256", manifest.layers[0].digest.slice(7)),
      "-C",
      root,
    ]);
    execFileSync("sh", ["-c", `cat > ${root}/etc/haproxy/config/haproxy.cfg`], { input: answer("one") });
    const script = `
      set -u
      ip link set lo up
      # The runtime gives a container /dev; here a bind mount, private to this mount namespace.
      mount --bind /dev ${root}/dev
      HAPROXY_RELOAD_INTERVAL=0.2 chroot ${root} ${HAPROXY_ENTRYPOINT} > ${dir}/entrypoint.log 2>&1 &
      pid=$!
      get() { chroot ${root} wget -q -O - http://127.0.0.1:8080/ 2>>${dir}/entrypoint.log; }
      wait_for() { for i in $(seq 50); do [ "$(get)" = "$1" ] && echo "$1" && return; sleep 0.1; done; echo "timeout waiting for $1"; }
      wait_for one
      printf '%s' '${answer("two").replaceAll("'", "")}' > ${root}/etc/haproxy/config/haproxy.cfg.new
      mv ${root}/etc/haproxy/config/haproxy.cfg.new ${root}/etc/haproxy/config/haproxy.cfg
      wait_for two
      echo 'not a config' > ${root}/etc/haproxy/config/haproxy.cfg
      sleep 1
      echo "after invalid: $(get)"
      kill -TERM $pid
      wait $pid
      echo "exit $?"
    `;
    const out = execFileSync("unshare", ["--net", "--mount", "sh", "-c", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    const log = readFileSync(join(dir, "entrypoint.log"), "utf8");
    expect(out.trim().split("\n"), log).toEqual(["one", "two", "after invalid: two", "exit 0"]);
    expect(log).toContain("config changed, reloading");
    expect(log).toContain("new config refused by haproxy -c, keeping the running one");
  }, 120_000);
});
