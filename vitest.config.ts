import { defineConfig } from "vitest/config";

// Tests that start etcd, namespaces or containers are slow and share host resources (ports, nft,
// cgroups), so files run in a small pool and each file cleans up after itself.
export default defineConfig({
  test: {
    include: ["**/*.test.ts"],
    exclude: ["node_modules/**", "dist/**"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
