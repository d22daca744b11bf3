/**
 * The shape of every module's typed error: a stable code callers branch on and a message naming
 * the input, file or command at fault. Each module declares its own subclass and codes; the name
 * is the subclass's, so logs say which module failed.
 */
export class CodedError<Code extends string> extends Error {
  constructor(
    readonly code: Code,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}
