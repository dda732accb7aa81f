/** An error meant for the user: its message is the whole story, printed as one line. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}
