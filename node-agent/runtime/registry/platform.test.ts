import { describe, expect, it } from "vitest";
import { sha256Digest } from "../images/digest.js";
import type { Descriptor, Platform } from "../images/oci.js";
import { selectPlatform } from "./platform.js";

const d = (architecture: string, variant?: string, os = "linux"): Descriptor => ({
  mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: sha256Digest(`${os}/${architecture}/${variant}`),
  size: 1,
  platform: { os, architecture, ...(variant !== undefined ? { variant } : {}) },
});

describe("selectPlatform", () => {
  const linux = (architecture: string, variant?: string): Platform => ({
    os: "linux",
    architecture,
    ...(variant !== undefined ? { variant } : {}),
  });

  it.each([
    ["amd64 from amd64+arm64", [d("arm64", "v8"), d("amd64")], linux("amd64"), d("amd64")],
    ["arm64 without a variant matches v8", [d("amd64"), d("arm64", "v8")], linux("arm64"), d("arm64", "v8")],
    ["arm64/v8 matches arm64 with no variant", [d("arm64")], linux("arm64", "v8"), d("arm64")],
    ["arm v7 prefers v7 over v6", [d("arm", "v6"), d("arm", "v7")], linux("arm", "v7"), d("arm", "v7")],
    ["arm v7 runs v6 when that is all", [d("arm", "v6"), d("arm64")], linux("arm", "v7"), d("arm", "v6")],
    [
      "amd64 v3 takes the closest older variant",
      [d("amd64", "v1"), d("amd64", "v2")],
      linux("amd64", "v3"),
      d("amd64", "v2"),
    ],
  ])("%s", (_name, manifests, want, expected) => {
    expect(selectPlatform(manifests, want)).toEqual(expected);
  });

  it.each([
    ["a newer variant than the node", [d("arm", "v7")], linux("arm", "v6")],
    ["amd64 v3 on a baseline node", [d("amd64", "v3")], linux("amd64")],
    ["another OS", [d("amd64", undefined, "windows")], linux("amd64")],
    ["attestations (unknown/unknown)", [d("unknown", undefined, "unknown")], linux("amd64")],
  ])("offers nothing for %s", (_name, manifests, want) => {
    expect(selectPlatform(manifests, want)).toBeUndefined();
  });
});
