/** Where the binaries built by `make -C native` are, found from this module in the source tree or in dist/. */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export function nativeBuildPath(binary: string): string {
  const here = fileURLToPath(new URL(".", import.meta.url));
  const root = here.includes("/dist/") ? join(here, "..", "..", "..") : join(here, "..", "..");
  return join(root, "native", "build", binary);
}
