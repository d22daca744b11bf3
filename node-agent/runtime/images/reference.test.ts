import { describe, expect, it } from "vitest";
import { parseReference } from "./reference.js";

describe("parseReference", () => {
  it.each([
    ["busybox", "docker.io/library/busybox:latest"],
    ["library/busybox", "docker.io/library/busybox:latest"],
    ["docker.io/busybox:1.36", "docker.io/library/busybox:1.36"],
    ["index.docker.io/library/busybox", "docker.io/library/busybox:latest"],
    ["user/app", "docker.io/user/app:latest"],
    ["registry.k8s.io/busybox:1.27.2", "registry.k8s.io/busybox:1.27.2"],
    ["localhost:5000/team/app", "localhost:5000/team/app:latest"],
    ["localhost/app:v1", "localhost/app:v1"],
    [`busybox@sha256:${"a".repeat(64)}`, `docker.io/library/busybox@sha256:${"a".repeat(64)}`],
    [`busybox:1@sha256:${"b".repeat(64)}`, `docker.io/library/busybox:1@sha256:${"b".repeat(64)}`],
  ])("%s → %s", (ref, text) => {
    expect(parseReference(ref).text).toBe(text);
  });

  it.each([
    ["", /1 to 512/],
    ["Busybox", /path component "Busybox"/],
    ["busybox:", /tag ""/],
    ["busybox:-x", /tag "-x"/],
    ["busybox@sha256:abc", /digest "sha256:abc"/],
    ["a//b", /path component ""/],
  ])("refuses %j naming it", (ref, why) => {
    expect(() => parseReference(ref)).toThrow(why);
    expect(() => parseReference(ref)).toThrow(`image reference "${ref}"`);
  });
});
