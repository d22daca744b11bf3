/**
 * Timestamps as Kubernetes writes them in conditions (RFC 3339, whole seconds) and reads them back.
 * The same format as the registry's server-set times; kept here so controllers do not depend on the
 * registry's internals.
 */

/** "2024-05-01T12:00:00Z": whole seconds, like metav1.Time. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Milliseconds since the epoch, or undefined for a missing or unparsable time. */
export function parseTime(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
