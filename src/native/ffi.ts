// A few libc calls through bun:ffi, for delete: the one command whose common path needs
// something Bun has no API of its own for (rmdir; Bun.file().delete() is unlink only and
// costs as much as these). Loading node:fs costs a process ~140 page faults, koffi's
// dlopen 2-3 ms; these six symbols ~80 faults, and they read /proc and cgroup files
// without Bun's stream and thread pool, which cost another ~50 (a fault is ~30 µs on a
// VM). Commands that load node:fs anyway remove through it (nodefs.ts).
import type * as FFI from "bun:ffi";
import { errnoName } from "./errno";
import type { Remover } from "./nodefs";

interface Libc {
  rmdir(p: Uint8Array): number;
  unlink(p: Uint8Array): number;
  open(p: Uint8Array, flags: number): number;
  read(fd: number, buf: Uint8Array, n: number): number | bigint;
  close(fd: number): number;
  errno(): number;
}
let libc: Libc | undefined;

function L(): Libc {
  if (libc) return libc;
  const { dlopen, FFIType: T, read } = require("bun:ffi") as typeof FFI;
  const { symbols: s } = dlopen("libc.so.6", {
    rmdir: { args: [T.cstring], returns: T.i32 },
    unlink: { args: [T.cstring], returns: T.i32 },
    open: { args: [T.cstring, T.i32], returns: T.i32 },
    read: { args: [T.i32, T.ptr, T.u64], returns: T.i64 },
    close: { args: [T.i32], returns: T.i32 },
    __errno_location: { args: [], returns: T.ptr },
  });
  // errno is read right after the call, before anything else of this thread can set it.
  const errno = () => read.i32(s.__errno_location()!, 0);
  return (libc = { ...(s as unknown as Omit<Libc, "errno">), errno });
}

const enc = new TextEncoder();
const cstr = (s: string) => enc.encode(`${s}\0`);
const O_CLOEXEC = 0o2000000;
const O_PATH = 0o10000000;

export const ffiRemover: Remover = {
  rmdir(path) {
    const l = L();
    return l.rmdir(cstr(path)) < 0 ? errnoName(l.errno()) : undefined;
  },
  unlink(path) {
    const l = L();
    return l.unlink(cstr(path)) < 0 ? errnoName(l.errno()) : undefined;
  },
};

const latin1 = new TextDecoder("latin1");
let buf: Uint8Array | undefined;

/**
 * The text of a file the kernel hands over in one read (/proc/PID/stat, a cgroup's
 * freezer.state or cgroup.freeze), or null when it cannot be read.
 */
export function readRecord(path: string): string | null {
  const l = L();
  const fd = l.open(cstr(path), O_CLOEXEC);
  if (fd < 0) return null;
  try {
    buf ??= new Uint8Array(4096);
    const n = Number(l.read(fd, buf, buf.length));
    return n < 0 ? null : latin1.decode(buf.subarray(0, n));
  } finally {
    l.close(fd);
  }
}

export function pathExists(path: string): boolean {
  const l = L();
  const fd = l.open(cstr(path), O_PATH | O_CLOEXEC);
  if (fd < 0) return false;
  l.close(fd);
  return true;
}
