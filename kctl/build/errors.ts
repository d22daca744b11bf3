/** Build failures, each naming where: the Dockerfile and line, or the step, file or flag. */

export type BuildErrorCode =
  /** The Dockerfile does not parse, or uses what the builder does not support. */
  | "Syntax"
  /** A value is wrong: an undefined variable, a bad flag, a missing stage or file. */
  | "Invalid"
  /** A RUN step exited non-zero. */
  | "StepFailed"
  /** The machine refused something (mount, runtime). */
  | "SystemError";

export class BuildError extends Error {
  constructor(
    readonly code: BuildErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "BuildError";
  }
}

/** `Dockerfile:12: why` */
export function lineError(
  file: string,
  line: number,
  why: string,
  code: BuildErrorCode = "Syntax",
): BuildError {
  return new BuildError(code, `${file}:${line}: ${why}`);
}
