/**
 * The import rules of the layers ARCHITECTURE.md describes, checked in CI by `npm run lint:layers`
 * (dependency-cruiser). A rule names what may not import what; `.dependency-cruiser.test.ts` plants
 * violations to prove the rules bite.
 */

// Code that only runs in tests or benchmarks; it may reach into testing/ folders and across layers.
const testCode = ["\\.test\\.ts$", "(^|/)testing/", "^e2e/", "(^|/)bench/"];

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "Import cycles make load order matter and layers meaningless.",
      from: {},
      to: { circular: true },
    },
    {
      name: "no-testing-outside-tests",
      severity: "error",
      comment: "testing/ folders hold fakes and harnesses; only tests (and benchmarks) may import them.",
      from: { pathNot: testCode },
      to: { path: "(^|/)testing/" },
    },
    {
      name: "store-stays-storage",
      severity: "error",
      comment: "The store is the storage layer: it never imports controllers or anything built on it.",
      from: { path: "^controlplane/store/", pathNot: testCode },
      to: {
        path: "^controlplane/(controllers|registry|apiserver|scheduler|nodeservice|dns|wiring|bootstrap|events)/|^controlplane/control-plane\\.ts$",
      },
    },
    {
      name: "client-below-its-users",
      severity: "error",
      comment:
        "controlplane/client is the client-go: the store, scheduler, controllers, DNS and NodeService import it, never the other way round.",
      from: { path: "^controlplane/client/", pathNot: testCode },
      to: {
        path: "^controlplane/(store|registry|apiserver|controllers|scheduler|nodeservice|dns|wiring|bootstrap|events)/|^controlplane/control-plane\\.ts$",
      },
    },
    {
      name: "controllers-through-the-client",
      severity: "error",
      comment:
        "Controllers read through informers and write through ControllerClient; the integrator (wiring/) connects them to the registry.",
      from: { path: "^controlplane/controllers/", pathNot: testCode },
      to: { path: "^controlplane/(store|registry|apiserver|scheduler|nodeservice|dns|wiring)/" },
    },
    {
      name: "scheduler-through-the-client",
      severity: "error",
      comment: "The scheduler sees the API only through its SchedulerBackend, which wiring/ implements.",
      from: { path: "^controlplane/scheduler/", pathNot: testCode },
      to: { path: "^controlplane/(store|registry|apiserver|controllers|nodeservice|dns|wiring)/" },
    },
    {
      name: "kinds-and-api-are-the-foundation",
      severity: "error",
      comment:
        "API types, the kinds registry, printers and util are pure: they never import the server, the client package or the node agent.",
      from: { path: "^controlplane/(api|kinds|printers|util)/", pathNot: testCode },
      to: {
        path: "^controlplane/(store|registry|apiserver|client|controllers|scheduler|nodeservice|dns|wiring|bootstrap|events|etcd|pki)/|^(node-agent|kctl)/",
      },
    },
    {
      name: "controlplane-not-into-the-cli-or-agent",
      severity: "error",
      comment: "The control plane never imports kctl or the node agent.",
      from: { path: "^controlplane/", pathNot: testCode },
      to: { path: "^(kctl|node-agent)/" },
    },
    // Pending, turned on once the API types move to a top-level foundation folder: the node agent
    // and kctl import only the foundation, never controlplane/. ARCHITECTURE.md lists what they
    // import today.
    // {
    //   name: "agent-and-cli-only-on-the-foundation",
    //   severity: "error",
    //   from: { path: "^(node-agent|kctl)/", pathNot: testCode },
    //   to: { path: "^controlplane/", pathNot: "^controlplane/(api|kinds|printers|util)/" },
    // },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(proto/gen|dist|node_modules|native/build)/" },
    // Type-only imports count: a layer may not even name the types of a layer above it.
    tsPreCompilationDeps: true,
    // TypeScript 7 has no JavaScript API for dependency-cruiser to parse with; swc parses instead.
    parser: "swc",
    tsConfig: { fileName: "tsconfig.test.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".json"] },
  },
};
