#!/usr/bin/env bash
# Installs everything kctl needs on a Debian host, as root: the Debian packages (etcd, nftables,
# iproute2, busybox-static, crun/runc and buildah for comparison, the C toolchain's libraries), the npm
# packages, the build (generated code, TypeScript, native shim), and `kctl` on PATH.
# Safe to run again. CI runs it too, so it stays true.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "kctl/install.sh: run as root (it installs Debian packages and links kctl into /usr/local/bin)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends \
  etcd-server etcd-client nftables iproute2 iptables conntrack busybox-static crun runc \
  gcc make libc6-dev libjansson-dev libcap-dev libseccomp-dev pkg-config openssl util-linux procps wrk ca-certificates \
  docker-registry skopeo apache2-utils iputils-arping iputils-ping haproxy zstd buildah \
  chromium fonts-dejavu-core

# `npm ci` refuses lock files without other platforms' optional binaries (npm/cli#4828, #8320:
# Biome's); `npm install` installs exactly what the lock file pins and adds this platform's binary.
npm install --no-audit --no-fund
npm run build
ln -sf "$PWD/dist/kctl/main.js" /usr/local/bin/kctl
chmod +x dist/kctl/main.js
echo "kctl installed: $(command -v kctl)"
