/**
 * Builds the ingress's HAProxy image from Debian's haproxy package: the busybox rootfs
 * (busybox-rootfs.ts), `/usr/sbin/haproxy` with every shared library `ldd` lists for it (at the
 * same paths, so the Debian loader finds them) and the entrypoint `ingress-haproxy`, which runs
 * HAProxy in master-worker mode on the mounted config and reloads it gracefully when the config or
 * certificates change. Nothing is downloaded; the name claims no upstream image
 * (`kctl.local/haproxy:debian`) and the labels carry the Debian package version.
 */
import { execFile } from "node:child_process";
import { chmod, copyFile, mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { buildRootfsImage, debianPackageVersion } from "./busybox-image.js";
import { buildBusyboxRootfs } from "./busybox-rootfs.js";

const run = promisify(execFile);

export const LOCAL_HAPROXY_IMAGE = "kctl.local/haproxy:debian";
export const HOST_HAPROXY = "/usr/sbin/haproxy";
export const HAPROXY_ENTRYPOINT = "/usr/local/bin/ingress-haproxy";

/**
 * The entrypoint. configMap and secret volumes swap their files atomically, so a changed checksum
 * is a whole new config: it is checked first (`haproxy -c`) and only a valid one reaches the
 * master (SIGUSR2: new workers, old ones finish their connections). SIGTERM stops HAProxy the
 * same way (the master waits for the workers). Paths come from the environment so tests can run
 * it elsewhere.
 */
const ENTRYPOINT = `#!/bin/sh
cfg="\${HAPROXY_CONFIG:-/etc/haproxy/config/haproxy.cfg}"
certs="\${HAPROXY_CERTS:-/etc/haproxy/certs}"
interval="\${HAPROXY_RELOAD_INTERVAL:-1}"
checksum() { cat "$cfg" "$certs"/* 2>/dev/null | md5sum; }
haproxy -W -db -f "$cfg" &
master=$!
trap 'kill -TERM $master; wait $master; exit $?' TERM INT
last=$(checksum)
while kill -0 $master 2>/dev/null; do
  sleep "$interval"
  now=$(checksum)
  [ "$now" = "$last" ] && continue
  last=$now
  if haproxy -c -q -f "$cfg"; then
    echo "ingress-haproxy: config changed, reloading"
    kill -USR2 $master
  else
    echo "ingress-haproxy: new config refused by haproxy -c, keeping the running one" >&2
  fi
done
wait $master
`;

/** The shared libraries (and loader) `ldd` reports for `binary`, as absolute paths. */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await run("ldd", [binary]);
  const libs = new Set<string>();
  for (const line of stdout.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]!);
    else if (/not found/.test(line)) throw new Error(`ldd ${binary}: ${line.trim()}`);
  }
  return [...libs].sort();
}

async function copyInto(root: string, path: string): Promise<void> {
  await mkdir(join(root, dirname(path)), { recursive: true });
  await copyFile(path, join(root, path));
}

async function populate(root: string): Promise<void> {
  await buildBusyboxRootfs(root);
  await copyInto(root, HOST_HAPROXY);
  await chmod(join(root, HOST_HAPROXY), 0o755);
  for (const lib of await sharedLibraries(HOST_HAPROXY)) await copyInto(root, lib);
  await mkdir(join(root, "etc/haproxy/config"), { recursive: true });
  await mkdir(join(root, "etc/haproxy/certs"), { recursive: true });
  await mkdir(join(root, dirname(HAPROXY_ENTRYPOINT)), { recursive: true });
  await writeFile(join(root, HAPROXY_ENTRYPOINT), ENTRYPOINT, { mode: 0o755 });
}

/**
 * Writes the image as an OCI layout to `outDir` (see `buildRootfsImage`), named `reference`
 * (default {@link LOCAL_HAPROXY_IMAGE}). Requires Debian's haproxy and busybox-static on the host.
 */
export async function buildHaproxyImage(outDir: string, reference = LOCAL_HAPROXY_IMAGE): Promise<string> {
  return buildRootfsImage(outDir, reference, {
    populate,
    cmd: [HAPROXY_ENTRYPOINT],
    labels: {
      "org.opencontainers.image.title": "haproxy from Debian, with busybox-static",
      "org.opencontainers.image.version": await debianPackageVersion("haproxy"),
    },
    createdBy: "kctl haproxy-image: Debian haproxy and its shared libraries, busybox-static",
  });
}
