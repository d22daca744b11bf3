import { describe, expect, it } from "vitest";
import { UsageError } from "../errors.js";
import { parseWorkload } from "./workload.js";

describe("parseWorkload", () => {
  it.each([
    [["deployment/web"], "Deployment", "web"],
    [["deploy", "web"], "Deployment", "web"],
    [["deployments.apps/web"], "Deployment", "web"],
    [["rs/web-5d9c"], "ReplicaSet", "web-5d9c"],
    [["replicaset", "web-5d9c"], "ReplicaSet", "web-5d9c"],
  ])("reads %j", (args, kind, name) => {
    const w = parseWorkload(args, ["Deployment", "ReplicaSet"], "scale");
    expect(w.info.kind).toBe(kind);
    expect(w.name).toBe(name);
  });

  it.each([
    [[], "scale: name the deployment or replicaset, e.g. deployment/web"],
    [["deployment/"], 'scale: expected KIND/NAME or KIND NAME, e.g. deployment/web; got "deployment/"'],
    [["deployment"], 'scale: expected KIND/NAME or KIND NAME, e.g. deployment/web; got "deployment"'],
    [["deployment/web", "x"], 'scale: unexpected argument "x"'],
    [["deployment", "web", "x"], 'scale: unexpected argument "x"'],
    [
      ["pod/web"],
      'scale: "pod" is not a deployment or replicaset (it is a pod); scale works on deployments and replicasets',
    ],
    [
      ["gizmo/web"],
      'scale: "gizmo" is not a deployment or replicaset; scale works on deployments and replicasets',
    ],
  ])("refuses %j", (args, message) => {
    expect(() => parseWorkload(args, ["Deployment", "ReplicaSet"], "scale")).toThrow(new UsageError(message));
  });

  it("names only the kinds the command allows", () => {
    expect(() => parseWorkload(["rs/web"], ["Deployment"], "rollout status")).toThrow(
      'rollout status: "rs" is not a deployment (it is a replicaset.apps); rollout status works on deployments',
    );
    expect(() => parseWorkload(["svc/web"], ["Deployment", "ReplicaSet", "Pod"], "set image")).toThrow(
      'set image: "svc" is not a deployment, replicaset or pod (it is a service); set image works on deployments, replicasets and pods',
    );
  });
});
