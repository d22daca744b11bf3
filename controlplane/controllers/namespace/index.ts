/**
 * The namespace controller: deleting a namespace deletes everything inside, then the namespace.
 * It owns the `kubernetes` finalizer of terminating namespaces and nothing else; it never touches
 * namespaces that are not being deleted.
 */
export {
  NamespaceContentDeletionError,
  type NamespaceContentLister,
  NamespaceController,
  type NamespaceControllerOptions,
  namespacesResource,
} from "./namespace-controller.js";
export { type NamespaceControllerDeps, startNamespaceController } from "./start.js";
