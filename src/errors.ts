/** An error meant for the user: its message is the whole story, printed as one line. */
export class RuntimeError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** The same error with another exit status (runc's exec fails with 255, past its argument check). */
export function withExitCode(e: unknown, code: number): RuntimeError {
  const msg = e instanceof RuntimeError ? e.message : (e as any)?.message ? String((e as any).message) : String(e);
  const r = new RuntimeError(msg, code);
  // An unexpected error keeps its stack for --debug.
  if (!(e instanceof RuntimeError)) r.cause = e;
  return r;
}
