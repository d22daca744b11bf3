import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The apiserver serves the build from dist/ui under /ui/ (controlplane/apiserver/ui-static.ts).
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/ui/",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../dist/ui", import.meta.url)),
    emptyOutDir: true,
    reportCompressedSize: true,
    // No source maps: the page is small, and dist/ui is shipped as it is.
    sourcemap: false,
  },
});
