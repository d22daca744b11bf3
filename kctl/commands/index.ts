/**
 * The command table: one row per `kctl COMMAND`, each command defined in its own file here. A row
 * keeps what the command list needs and imports the command's module only when it is asked for, so
 * `kctl get` never loads the control plane, the node agent, the lab or the builder that `up`,
 * `join`, `lab` and `build` bring in (commands/index.test.ts checks it).
 */

import type { CommandEntry } from "../command.js";

export const commands: readonly CommandEntry[] = [
  {
    name: "apply",
    summary: "Create or update objects from manifest files, directories or stdin",
    load: () => import("./apply.js").then((m) => m.applyCommand),
  },
  {
    name: "get",
    summary: "List objects or show some of them, as a table or as YAML/JSON",
    load: () => import("./get.js").then((m) => m.getCommand),
  },
  {
    name: "describe",
    summary: "Show details of objects, with their events",
    load: () => import("./describe.js").then((m) => m.describeCommand),
  },
  {
    name: "delete",
    summary: "Delete objects named on the command line, by label selector, or in manifest files",
    load: () => import("./delete.js").then((m) => m.deleteCommand),
  },
  {
    name: "rollout",
    summary: "Follow, list, undo, restart, pause or resume a Deployment's or DaemonSet's rollout",
    load: () => import("./rollout.js").then((m) => m.rolloutCommand),
  },
  {
    name: "scale",
    summary: "Set the number of replicas of a Deployment or ReplicaSet",
    load: () => import("./scale.js").then((m) => m.scaleCommand),
  },
  {
    name: "set",
    summary: "Set the container images of a Deployment, ReplicaSet, DaemonSet or Pod (set image)",
    load: () => import("./set.js").then((m) => m.setCommand),
  },
  {
    name: "patch",
    summary: "Change fields of an object with a strategic or JSON merge patch",
    load: () => import("./patch.js").then((m) => m.patchCommand),
  },
  {
    name: "label",
    summary: "Set or remove the labels of objects",
    load: () => import("./label.js").then((m) => m.labelCommand),
  },
  {
    name: "annotate",
    summary: "Set or remove the annotations of objects",
    load: () => import("./label.js").then((m) => m.annotateCommand),
  },
  {
    name: "wait",
    summary: "Wait until objects have a condition or are deleted",
    load: () => import("./wait.js").then((m) => m.waitCommand),
  },
  {
    name: "create",
    summary: "Create a namespace, a deployment or a job from flags (--dry-run=client -o yaml prints it)",
    load: () => import("./create.js").then((m) => m.createCommand),
  },
  {
    name: "expose",
    summary: "Make a Service for a Deployment's pods",
    load: () => import("./create.js").then((m) => m.exposeCommand),
  },
  {
    name: "cordon",
    summary: "Mark nodes unschedulable: no new pods are placed on them",
    load: () => import("./drain.js").then((m) => m.cordonCommand),
  },
  {
    name: "uncordon",
    summary: "Mark nodes schedulable again",
    load: () => import("./drain.js").then((m) => m.uncordonCommand),
  },
  {
    name: "drain",
    summary: "Cordon nodes and evict their pods, waiting until the pods are gone",
    load: () => import("./drain.js").then((m) => m.drainCommand),
  },
  {
    name: "api-resources",
    summary: "List the resource types the server serves",
    load: () => import("./api-resources.js").then((m) => m.apiResourcesCommand),
  },
  {
    name: "version",
    summary: "Print the client and server versions",
    load: () => import("./version.js").then((m) => m.versionCommand),
  },
  {
    name: "up",
    summary: "Run a cluster on this host in the foreground (etcd, control plane, node agent)",
    load: () => import("./up.js").then((m) => m.upCommand),
  },
  {
    name: "lab",
    summary: "Run a multi-host cluster on this machine, hosts in network namespaces (root)",
    load: () => import("./lab.js").then((m) => m.labCommand),
  },
  {
    name: "token",
    summary: "Create, list or delete bootstrap tokens for joining nodes",
    load: () => import("./token.js").then((m) => m.tokenCommand),
  },
  {
    name: "certificate",
    summary: "Revoke a node's certificate",
    load: () => import("./certificate.js").then((m) => m.certificateCommand),
  },
  {
    name: "kubeconfig",
    summary: "Mint a user's credentials (certificate or token) and print a kubeconfig for them",
    load: () => import("./kubeconfig.js").then((m) => m.kubeconfigCommand),
  },
  {
    name: "image",
    summary: "Import, pull, push, list and remove the images of this host's node agent",
    load: () => import("./image.js").then((m) => m.imageCommand),
  },
  {
    name: "build",
    summary: "Build an image from a Dockerfile into this host's image store",
    load: () => import("./build.js").then((m) => m.buildCommand),
  },
  {
    name: "join",
    summary: "Join this host to a cluster as a node and run its agent in the foreground",
    load: () => import("./join.js").then((m) => m.joinCommand),
  },
  {
    name: "reset",
    summary: "Remove the node agent's containers, networking and state from this host",
    load: () => import("./reset.js").then((m) => m.resetCommand),
  },
  {
    name: "logs",
    summary: "Print the logs of a container in a pod",
    load: () => import("./logs.js").then((m) => m.logsCommand),
  },
  {
    name: "exec",
    summary: "Run a command in a container",
    load: () => import("./exec.js").then((m) => m.execCommand),
  },
  {
    name: "port-forward",
    summary: "Forward local ports to a pod",
    load: () => import("./port-forward.js").then((m) => m.portForwardCommand),
  },
  {
    name: "top",
    summary: "Show CPU and memory use of pods or nodes (metrics.k8s.io)",
    load: () => import("./top.js").then((m) => m.topCommand),
  },
  {
    name: "etcd",
    summary: "List or remove etcd members, save or restore etcd snapshots (on a control plane host)",
    load: () => import("./etcd.js").then((m) => m.etcdCommand),
  },
  {
    name: "dashboard",
    summary: "Print the web dashboard's URL and a token to log in with",
    load: () => import("./dashboard.js").then((m) => m.dashboardCommand),
  },
];
