/**
 * A real registry (Debian's docker-registry) under `scratch`, holding the project's busybox image
 * as `<registry>/base/busybox:1`: the FROM image of the builder's registry tests and benchmark.
 */
import { join } from "node:path";
import { buildBusyboxImage, ImageStore } from "../../../node-agent/runtime/images/index.js";
import { pushImage } from "../../../node-agent/runtime/registry/index.js";
import {
  type RegistryServer,
  startRegistry,
} from "../../../node-agent/runtime/registry/testing/registry-server.js";

export async function startBaseRegistry(
  scratch: string,
): Promise<{ registry: RegistryServer; base: string }> {
  const registry = await startRegistry({ dir: join(scratch, "registry") });
  const seed = new ImageStore(join(scratch, "seed"));
  await buildBusyboxImage(join(scratch, "busybox"), { reference: "local/busybox:1" });
  await seed.importLayout(join(scratch, "busybox"));
  const base = `${registry.host}/base/busybox:1`;
  await pushImage(seed, "local/busybox:1", base);
  return { registry, base };
}
