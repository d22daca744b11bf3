/**
 * The import rules of the layers ARCHITECTURE.md describes, checked in CI by `npm run lint:layers`
 * (dependency-cruiser). A rule names what may not import what; `.dependency-cruiser.test.ts` plants
 * violations to prove the rules bite.
 */

// Code that only runs in tests or benchmarks; it may reach into testing/ folders and across layers.
const testCode = ["\\.test\\.ts$", "(^|/)testing/", "^e2e/", "(^|/)bench/"];

// kctl commands that run or administer a control plane on this host, and the lab that runs them.
const controlPlaneHosts = [
  "^kctl/commands/(up|join-control-plane|etcd|etcd-flags|audit-flags)\\.ts$",
  "^kctl/lab/",
];
const controlPlaneEntryPoints = [
  "^controlplane/control-plane\\.ts$",
  "^controlplane/etcd/",
  "^controlplane/bootstrap/control-plane-join\\.ts$",
];

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
      name: "foundation-is-the-bottom",
      severity: "error",
      comment:
        "foundation/ (API types and codec, kinds, printers, util, pki, the bootstrap protocol) is what every component stands on: it imports none of them.",
      from: { path: "^foundation/", pathNot: testCode },
      to: { path: "^(controlplane|node-agent|kctl|e2e|native)/" },
    },
    {
      name: "controlplane-not-into-the-cli-or-agent",
      severity: "error",
      comment: "The control plane never imports kctl or the node agent.",
      from: { path: "^controlplane/", pathNot: testCode },
      to: { path: "^(kctl|node-agent)/" },
    },
    {
      name: "agent-only-on-the-foundation",
      severity: "error",
      comment:
        "The node agent talks to the control plane over gRPC and HTTPS; in code it shares only foundation/.",
      from: { path: "^node-agent/", pathNot: testCode },
      to: { path: "^controlplane/" },
    },
    {
      name: "cli-only-on-the-foundation",
      severity: "error",
      comment:
        "kctl is a client: it shares foundation/ with the control plane. Only the commands that run or administer a control plane on this host (and the lab, which runs them) import its entry points (see ARCHITECTURE.md).",
      from: { path: "^kctl/", pathNot: [...testCode, ...controlPlaneHosts] },
      to: { path: "^controlplane/" },
    },
    {
      name: "control-plane-hosts-through-entry-points",
      severity: "error",
      comment: "Commands that run a control plane use its entry points, not its insides.",
      from: { path: controlPlaneHosts, pathNot: testCode },
      to: { path: "^controlplane/", pathNot: controlPlaneEntryPoints },
    },
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
