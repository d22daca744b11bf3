/**
 * Creates the local-path StorageClass at control-plane start, as the default RBAC objects are:
 * once, and never over a class an admin made or changed under that name.
 */
import { isApiError } from "../../foundation/api/errors.js";
import type { KubeObject } from "../../foundation/api/object.js";
import { classesResource } from "../controllers/volume/controller.js";
import { localPathClass } from "../controllers/volume/local-path.js";
import type { Registry } from "../registry/index.js";

export async function ensureLocalPathClass(registry: Registry): Promise<void> {
  try {
    await registry.create(classesResource, localPathClass() as KubeObject);
  } catch (err) {
    if (!isApiError(err, "AlreadyExists")) throw err;
  }
}
