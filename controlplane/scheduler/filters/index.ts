/**
 * The default filter chain, in Kubernetes' order. A node's first failing filter gives its
 * unschedulable reason(s), so cheap, decisive filters come first.
 */
import type { Filter } from "./filter.js";
import { nodeAffinityFilter } from "./node-affinity.js";
import { nodeResourcesFitFilter } from "./node-resources-fit.js";
import { nodeUnschedulableFilter } from "./node-unschedulable.js";
import { podAntiAffinityFilter } from "./pod-anti-affinity.js";
import { taintTolerationFilter } from "./taint-toleration.js";

export type { Filter, NodeCheck } from "./filter.js";

export const defaultFilters: readonly Filter[] = [
  nodeUnschedulableFilter,
  taintTolerationFilter,
  nodeAffinityFilter,
  nodeResourcesFitFilter,
  podAntiAffinityFilter,
];
