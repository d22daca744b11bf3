/**
 * A control plane in a process of its own for the benchmarks (plane-process.ts starts it), so its
 * resident memory can be read from /proc apart from the hollow nodes and the load generator. Usage:
 * `node control-plane-process.js '<ControlPlaneOptions as JSON>'`. Prints one JSON line with the
 * addresses, CA and admin token once ready; stops everything on SIGTERM or SIGINT.
 */
import { type ControlPlaneOptions, startControlPlane } from "../../../controlplane/control-plane.js";

const options = JSON.parse(process.argv[2] ?? "{}") as ControlPlaneOptions;
if (!options.stateDir) {
  process.stderr.write("control-plane-process: the options JSON needs a stateDir\n");
  process.exit(2);
}
const plane = await startControlPlane(options);
process.stdout.write(
  `${JSON.stringify({
    apiUrl: plane.apiUrl,
    nodeServiceAddress: plane.nodeServiceAddress,
    caPem: plane.caPem,
    adminToken: plane.adminToken,
  })}\n`,
);
let stopping = false;
const stop = async () => {
  stopping = true;
  await plane.stop();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
void plane.failed.then((err) => {
  if (stopping) return;
  process.stderr.write(`control-plane-process: ${err.message}\n`);
  process.exit(1);
});
