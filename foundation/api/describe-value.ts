/**
 * How a bad value is shown in error messages, shared by decoding (codec.ts) and validation; apart
 * from the codec so that validation does not import the resource table through it.
 */

/** Renders a value the way Kubernetes prints it in "Invalid value: ..." messages. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "[...]";
  if (typeof value === "object") return "{...}";
  return JSON.stringify(value);
}
