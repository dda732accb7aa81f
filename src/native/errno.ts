// errno numbers by name, for the calls made through an FFI (koffi or bun:ffi), which
// return the number alone. Node's and Bun's own errors name it already (e.code).
export const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 9: "EBADF", 11: "EAGAIN", 13: "EACCES",
  16: "EBUSY", 17: "EEXIST", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 28: "ENOSPC",
  30: "EROFS", 32: "EPIPE", 38: "ENOSYS", 39: "ENOTEMPTY", 104: "ECONNRESET", 111: "ECONNREFUSED",
};

export function errnoName(n: number): string {
  return ERRNO_NAMES[n] ?? `E${n}`;
}
