/** The finalizers the API itself defines; the registry sets them, controllers act on and remove them. */

/** Finalizers the garbage collector acts on, recorded by a delete's propagation policy. */
export const orphanFinalizer = "orphan";
export const foregroundFinalizer = "foregroundDeletion";
/** Held by a terminating Namespace until the namespace controller has emptied it and removes it. */
export const namespaceFinalizer = "kubernetes";
