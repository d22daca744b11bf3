/**
 * The pod sandboxes' netlink helper (`native/build/sandbox-net`, see native/tools/sandbox-net.c):
 * one long-lived process per node network namespace, shared by every `PodNetwork` of the agent,
 * that makes and removes a pod's network namespace and veth pair without a process per pod. Node
 * cannot unshare, setns or speak netlink itself; forking the whole agent for `ip` twice per setup
 * and twice per teardown was the largest part of a pod start's CPU (node-agent/README.md).
 */
import { nativeBuildPath } from "../util/native-build.js";
import { NativeHelper } from "../util/native-helper.js";
import { spawnTool } from "./commands-linux.js";
import { NetworkError } from "./errors.js";

const helpers = new Map<string, NativeHelper>();

/** The helper for the node namespace `hostNetns` (undefined: the agent's own), started on first use. */
export function sandboxHelper(hostNetns: string | undefined): NativeHelper {
  const key = hostNetns ?? "";
  let helper = helpers.get(key);
  if (!helper) {
    helper = new NativeHelper({
      start: () => spawnTool([nativeBuildPath("sandbox-net"), ...(hostNetns ? [hostNetns] : [])], "pipe"),
      failure: (what, message) => new NetworkError("CommandFailed", `sandbox-net ${what}: ${message}`),
    });
    helpers.set(key, helper);
  }
  return helper;
}
