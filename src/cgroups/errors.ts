// Every cgroup failure surfaces as one line naming the file, the operation and the
// kernel's reason, e.g. `cgroup memory.limit_in_bytes: write 1: device or resource busy`,
// because that is what an engine shows its user.

export class CgroupError extends Error {
  override name = "CgroupError";
  /** errno name (EBUSY, ENOENT, ...) when the failure came from a syscall */
  readonly code?: string;

  constructor(message: string, code?: string) {
    super(message);
    this.code = code;
  }
}

// The strerror(3) texts, so messages read like runc's and the kernel's.
const errnoText: Record<string, string> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ESRCH: "no such process",
  EINTR: "interrupted system call",
  EIO: "input/output error",
  E2BIG: "argument list too long",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory",
  EACCES: "permission denied",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  EXDEV: "invalid cross-device link",
  ENODEV: "no such device",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
  EINVAL: "invalid argument",
  ENOSPC: "no space left on device",
  EROFS: "read-only file system",
  ERANGE: "numerical result out of range",
  ENAMETOOLONG: "file name too long",
  ENOTEMPTY: "directory not empty",
  ENOSYS: "function not implemented",
  EOPNOTSUPP: "operation not supported",
  ENOTSUP: "operation not supported",
};

export function errnoCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export function errnoMessage(e: unknown): string {
  const code = errnoCode(e);
  if (code && errnoText[code]) return errnoText[code];
  if (code) return code.toLowerCase();
  return e instanceof Error ? e.message : String(e);
}

/** Wrap a syscall failure as `cgroup <what>: <op>: <reason>`. */
export function sysError(what: string, op: string, e: unknown): CgroupError {
  return new CgroupError(`cgroup ${what}: ${op}: ${errnoMessage(e)}`, errnoCode(e));
}

/** A linux.resources.unified key that is no file name, or not CONTROLLER.PARAMETER: runc's words. */
export function unifiedKeyError(key: string, why: "path" | "form"): CgroupError {
  return new CgroupError(
    `cgroup: unified resource ${JSON.stringify(key)} ${why === "path" ? "must be a file name (no slashes)" : "must be in the form CONTROLLER.PARAMETER"}`,
  );
}
