/** A linux.seccomp setting that cannot be turned into a filter; the message names the field. */
export class SeccompError extends Error {
  override name = "SeccompError";
}
