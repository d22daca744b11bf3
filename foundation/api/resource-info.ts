/** The wire identity of an API resource; the table of them is api/resources.ts. */

export type Subresource =
  | "status"
  | "scale"
  | "binding"
  | "eviction"
  | "log"
  | "exec"
  | "attach"
  | "portforward"
  | "token";

export interface ResourceInfo {
  /** API group; "" is the core group served under /api/v1. */
  group: string;
  version: string;
  kind: string;
  /** Lower-case plural used in paths and etcd keys. */
  plural: string;
  singular: string;
  shortNames: readonly string[];
  namespaced: boolean;
  subresources: readonly Subresource[];
  /** Fully qualified message name in proto/api.proto. */
  message: string;
  /** Kinds whose status is owned by controllers or agents: updates of the main resource keep the old status. */
  hasStatus: boolean;
}
