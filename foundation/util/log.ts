/**
 * Warnings that an operator must see whatever `KCTL_TRACE` says (a container that fails to start, a
 * sync that throws), written to stderr with the module that raised them.
 */
import { logLine } from "./trace.js";

export function logWarning(module: string, message: string, ...details: unknown[]): void {
  process.stderr.write(logLine(module, `WARN ${message}`, details));
}
