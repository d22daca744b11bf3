/**
 * Timestamps as Kubernetes writes them (RFC 3339, whole seconds, UTC) and reads them back: the one
 * formatter for every server-set time (creation and deletion timestamps, conditions, events, token
 * expiry, rollout restarts). Lease renew times (microseconds) and log lines keep their own formats.
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
