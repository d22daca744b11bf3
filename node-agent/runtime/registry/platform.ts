/**
 * Picks the manifest for a platform from an image index, as containerd's default matcher does: the
 * OS and architecture must be equal; the variant must be the same or an older one the platform can
 * run (arm v7 runs v6 and v5; amd64 v3 runs v2 and v1), the closest winning. A missing variant is
 * the architecture's baseline (amd64 v1, arm64 v8).
 */
import { type Descriptor, hostArchitecture, type Platform } from "../images/oci.js";

const BASELINE: Record<string, string> = { amd64: "v1", arm64: "v8", arm: "v7" };

/** This node's platform. */
export function hostPlatform(): Platform {
  return { os: "linux", architecture: hostArchitecture() };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== "").join("/");
}

function variantNumber(architecture: string, variant: string | undefined): number {
  const v = variant || BASELINE[architecture] || "";
  const m = /^v(\d+)$/.exec(v);
  return m ? Number(m[1]) : Number.NaN;
}

/**
 * How far `offered` is from `want` (0 = exact), or undefined when `want` cannot run it.
 */
function distance(want: Platform, offered: Platform): number | undefined {
  if (offered.os !== want.os || offered.architecture !== want.architecture) return undefined;
  const w = variantNumber(want.architecture, want.variant);
  const o = variantNumber(offered.architecture, offered.variant);
  if (Number.isNaN(w) || Number.isNaN(o)) {
    return (offered.variant ?? "") === (want.variant ?? "") ? 0 : undefined;
  }
  return o <= w ? w - o : undefined;
}

/** The best manifest of `manifests` for `want`, or undefined when none can run there. */
export function selectPlatform(manifests: Descriptor[], want: Platform): Descriptor | undefined {
  let best: { desc: Descriptor; d: number } | undefined;
  for (const desc of manifests) {
    if (desc.platform === undefined) continue;
    const d = distance(want, desc.platform);
    if (d !== undefined && (best === undefined || d < best.d)) best = { desc, d };
  }
  return best?.desc;
}
