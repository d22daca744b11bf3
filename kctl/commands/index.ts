/** The command table: one entry per `kctl COMMAND`, each defined in its own file here. */

import type { Command } from "../command.js";
import { apiResourcesCommand } from "./api-resources.js";
import { applyCommand } from "./apply.js";
import { buildCommand } from "./build.js";
import { certificateCommand } from "./certificate.js";
import { createCommand, exposeCommand } from "./create.js";
import { dashboardCommand } from "./dashboard.js";
import { deleteCommand } from "./delete.js";
import { describeCommand } from "./describe.js";
import { cordonCommand, drainCommand, uncordonCommand } from "./drain.js";
import { etcdCommand } from "./etcd.js";
import { execCommand } from "./exec.js";
import { getCommand } from "./get.js";
import { imageCommand } from "./image.js";
import { joinCommand } from "./join.js";
import { kubeconfigCommand } from "./kubeconfig.js";
import { labCommand } from "./lab.js";
import { annotateCommand, labelCommand } from "./label.js";
import { logsCommand } from "./logs.js";
import { patchCommand } from "./patch.js";
import { portForwardCommand } from "./port-forward.js";
import { resetCommand } from "./reset.js";
import { rolloutCommand } from "./rollout.js";
import { scaleCommand } from "./scale.js";
import { setCommand } from "./set.js";
import { tokenCommand } from "./token.js";
import { topCommand } from "./top.js";
import { upCommand } from "./up.js";
import { versionCommand } from "./version.js";
import { waitCommand } from "./wait.js";

export const commands: readonly Command[] = [
  applyCommand,
  getCommand,
  describeCommand,
  deleteCommand,
  rolloutCommand,
  scaleCommand,
  setCommand,
  patchCommand,
  labelCommand,
  annotateCommand,
  waitCommand,
  createCommand,
  exposeCommand,
  cordonCommand,
  uncordonCommand,
  drainCommand,
  apiResourcesCommand,
  versionCommand,
  upCommand,
  labCommand,
  tokenCommand,
  certificateCommand,
  kubeconfigCommand,
  imageCommand,
  buildCommand,
  joinCommand,
  resetCommand,
  logsCommand,
  execCommand,
  portForwardCommand,
  topCommand,
  etcdCommand,
  dashboardCommand,
];
