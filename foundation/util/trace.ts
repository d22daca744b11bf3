/**
 * Per-module tracing behind `KCTL_TRACE` (comma-separated module names, or `all`), written to
 * stderr. When a module is off, `tracer()` returns a no-op so call sites cost one function call.
 */

export type Tracer = (message: string, ...details: unknown[]) => void;

const noop: Tracer = () => {};

function enabledModules(): Set<string> {
  return new Set(
    (process.env.KCTL_TRACE ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
  );
}

export function tracer(module: string): Tracer {
  const enabled = enabledModules();
  if (!enabled.has(module) && !enabled.has("all")) return noop;
  return (message, ...details) => process.stderr.write(logLine(module, message, details));
}

/** One stderr line: time, `[module]`, message and details as JSON. */
export function logLine(module: string, message: string, details: unknown[]): string {
  const extra = details.length ? ` ${details.map((d) => JSON.stringify(d)).join(" ")}` : "";
  return `${new Date().toISOString()} [${module}] ${message}${extra}\n`;
}
