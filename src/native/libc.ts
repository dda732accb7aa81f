// libc through koffi, for what Bun's own APIs cannot do: SCM_RIGHTS, seals, pidfds,
// flock, blocking waits with deadlines. Loaded on first use, and kept off the paths
// engines take for every container (create, start, run, exec without a terminal,
// state, kill, delete of a stopped container): dlopen costs 2-3 ms.
import { koffi as K } from "./koffi";
import { errnoName } from "./errno";

type Fn = (...args: any[]) => any;

let lib: Record<string, Fn> | undefined;

function L(): Record<string, Fn> {
  if (lib) return lib;
  const c = K().load("libc.so.6");
  lib = {
    __errno_location: c.func("int *__errno_location(void)"),
    strerror: c.func("const char *strerror(int)"),
    sendmsg: c.func("long sendmsg(int, void *, int)"),
    recvmsg: c.func("long recvmsg(int, void *, int)"),
    socket: c.func("int socket(int, int, int)"),
    connect: c.func("int connect(int, void *, uint32_t)"),
    memfd_create: c.func("int memfd_create(const char *, unsigned int)"),
    write: c.func("long write(int, const void *, size_t)"),
    close: c.func("int close(int)"),
    fcntl: c.func("int fcntl(int, int, ...)"),
    flock: c.func("int flock(int, int)"),
    poll: c.func("int poll(void *, unsigned long, int)"),
    syscall: c.func("long syscall(long, ...)"),
    kill: c.func("int kill(int, int)"),
    open: c.func("int open(const char *, int, ...)"),
    umount2: c.func("int umount2(const char *, int)"),
    ioctl: c.func("int ioctl(int, unsigned long, ...)"),
    socketpair: c.func("int socketpair(int, int, int, _Out_ int *sv)"),
    shutdown: c.func("int shutdown(int, int)"),
    mount: c.func("int mount(const char *, const char *, const char *, unsigned long, const char *)"),
    waitpid: c.func("int waitpid(int, _Out_ int *status, int)"),
    prctl: c.func("int prctl(int, unsigned long, unsigned long, unsigned long, unsigned long)"),
  };
  return lib;
}

/** The libc functions above, for the modules that wrap a few of their own (src/checkpoint/sys.ts). */
export const libcFunctions = L;

export class SysError extends Error {
  constructor(
    readonly what: string,
    readonly errno: number,
  ) {
    super(`${what}: ${strerror(errno)}`);
  }
  get code(): string {
    return errnoName(this.errno);
  }
}

export function errno(): number {
  return K().decode(L().__errno_location(), "int") as number;
}

const strerrorCache = new Map<number, string>();
/** strerror in lower case, as Go and runc print errors. */
export function strerror(n: number): string {
  let s = strerrorCache.get(n);
  if (s === undefined) {
    const raw = String(L().strerror(n));
    s = raw.charAt(0).toLowerCase() + raw.slice(1);
    strerrorCache.set(n, s);
  }
  return s;
}

function check(what: string, r: number | bigint): number {
  const n = Number(r);
  if (n < 0) throw new SysError(what, errno());
  return n;
}

// Linux x86_64 / generic constants.
export const AF_UNIX = 1;
export const SOCK_STREAM = 1;
export const SOCK_CLOEXEC = 0x80000;
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
const F_ADD_SEALS = 1033;
const MFD_CLOEXEC = 1;
const MFD_ALLOW_SEALING = 2;
const F_SEAL_SEAL = 1;
const F_SEAL_SHRINK = 2;
const F_SEAL_GROW = 4;
const F_SEAL_WRITE = 8;
const SYS_pidfd_send_signal = 424;
const SYS_pidfd_open = 434;
const SOL_SOCKET = 1;
const SCM_RIGHTS = 1;
const MSG_CMSG_CLOEXEC = 0x40000000;
const POLLIN = 1;
const POLLHUP = 0x10;
export const LOCK_EX = 2;
export const LOCK_NB = 4;

/** A sealed, close-on-exec memfd holding `data`: nothing can change it once made. */
export function sealedMemfd(name: string, data: Uint8Array): number {
  const fd = check("memfd_create", L().memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING));
  let off = 0;
  while (off < data.length) {
    const n = check("write memfd", L().write(fd, data.subarray(off), data.length - off));
    off += n;
  }
  check("seal memfd", L().fcntl(fd, F_ADD_SEALS, "int", F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
  return fd;
}

/** A plain close-on-exec memfd, for C APIs that write into an fd. */
export function memfd(name: string): number {
  return check(`memfd_create ${name}`, L().memfd_create(name, MFD_CLOEXEC));
}

/** syscall(nr, type, value, ...) for calls with no wrapper here; errno read at once. */
export function rawSyscall(nr: number, ...typedArgs: unknown[]): { ret: number; errno: number } {
  const ret = Number(L().syscall(nr, ...typedArgs));
  return { ret, errno: ret < 0 ? errno() : 0 };
}

export function close(fd: number): void {
  L().close(fd);
}

export function flock(fd: number, op: number): boolean {
  const r = Number(L().flock(fd, op));
  if (r === 0) return true;
  const e = errno();
  if (e === 11 && op & LOCK_NB) return false;
  throw new SysError("flock", e);
}

export function openFd(path: string, flags: number): number {
  return check(`open ${path}`, L().open(path, flags, "uint32_t", 0));
}

export function tryOpen(path: string, flags: number): number {
  const r = Number(L().open(path, flags, "uint32_t", 0));
  return r < 0 ? -errno() : r;
}

/** poll one fd for readability; true when readable or hung up, false on timeout. */
export function pollIn(fd: number, timeoutMs: number): boolean {
  const pfd = Buffer.alloc(8);
  pfd.writeInt32LE(fd, 0);
  pfd.writeInt16LE(POLLIN, 4);
  for (;;) {
    const r = Number(L().poll(pfd, 1, timeoutMs));
    if (r < 0) {
      if (errno() === 4) continue;
      throw new SysError("poll", errno());
    }
    if (r === 0) return false;
    const rev = pfd.readInt16LE(6);
    return (rev & (POLLIN | POLLHUP)) !== 0 || rev !== 0;
  }
}

export function pidfdOpen(pid: number): number {
  return check(`pidfd_open ${pid}`, L().syscall(SYS_pidfd_open, "int", pid, "unsigned int", 0));
}

export function pidfdSendSignal(pidfd: number, sig: number): void {
  check("pidfd_send_signal", L().syscall(SYS_pidfd_send_signal, "int", pidfd, "int", sig, "void *", null, "unsigned int", 0));
}

export function kill(pid: number, sig: number): boolean {
  return Number(L().kill(pid, sig)) === 0;
}

export function umountDetach(path: string): boolean {
  return Number(L().umount2(path, 2 /* MNT_DETACH */)) === 0;
}

// --- SCM_RIGHTS over unix sockets -------------------------------------------------
// msghdr is laid out by hand: koffi cannot point struct members at caller memory
// that the kernel writes into, so the buffers are koffi allocations with known addresses.

const CMSG_SPACE_1FD = 24; // CMSG_SPACE(sizeof(int)) on x86_64
const MSGHDR_SIZE = 56;

function addr(p: unknown): bigint {
  return BigInt(K().address(p as any) as any);
}

/** One iovec over `data` and room for one SCM_RIGHTS fd in `ctrl`, written into `hdr`. */
function fillMsghdr(hdr: unknown, iov: unknown, data: unknown, len: number, ctrl: unknown): void {
  const iovB = Buffer.alloc(16);
  iovB.writeBigUInt64LE(addr(data), 0);
  iovB.writeBigUInt64LE(BigInt(len), 8);
  K().encode(iov as any, "uint8", Array.from(iovB), 16);
  const h = Buffer.alloc(MSGHDR_SIZE);
  h.writeBigUInt64LE(addr(iov), 16);
  h.writeBigUInt64LE(1n, 24);
  h.writeBigUInt64LE(addr(ctrl), 32);
  h.writeBigUInt64LE(BigInt(CMSG_SPACE_1FD), 40);
  K().encode(hdr as any, "uint8", Array.from(h), MSGHDR_SIZE);
}

export interface Received {
  data: Uint8Array;
  fd: number; // -1 when none came
}

/** recvmsg of up to `max` bytes of a stream socket with at most one passed fd. Returns null on EOF. */
export function recvWithFd(sock: number, max: number, flags = 0): Received | null {
  const data = K().alloc("uint8", max);
  const ctrl = K().alloc("uint8", CMSG_SPACE_1FD);
  const iov = K().alloc("uint8", 16);
  const hdr = K().alloc("uint8", MSGHDR_SIZE);
  try {
    fillMsghdr(hdr, iov, data, max, ctrl);
    let n: number;
    for (;;) {
      n = Number(L().recvmsg(sock, hdr, MSG_CMSG_CLOEXEC | flags));
      if (n >= 0) break;
      const e = errno();
      if (e === 4) continue;
      // ECONNRESET: the peer closed with something of ours unread (the init failing
      // before it read GO). On a stream socket what it sent first has been read by
      // now: this is its EOF.
      if (e === 104) return null;
      throw new SysError("recvmsg", e);
    }
    const outH = Buffer.from(K().decode(hdr, "uint8", MSGHDR_SIZE) as number[]);
    const ctrlLen = Number(outH.readBigUInt64LE(40));
    let fd = -1;
    if (ctrlLen >= 20) {
      const c = Buffer.from(K().decode(ctrl, "uint8", CMSG_SPACE_1FD) as number[]);
      if (c.readInt32LE(8) === SOL_SOCKET && c.readInt32LE(12) === SCM_RIGHTS) fd = c.readInt32LE(16);
    }
    if (n === 0 && fd < 0) return null;
    const bytes = n > 0 ? Uint8Array.from(K().decode(data, "uint8", n) as number[]) : new Uint8Array(0);
    return { data: bytes, fd };
  } finally {
    K().free(data);
    K().free(ctrl);
    K().free(iov);
    K().free(hdr);
  }
}

/** sendmsg of `data` with `fd` attached as SCM_RIGHTS. */
export function sendWithFd(sock: number, data: Uint8Array, fd: number): void {
  const len = Math.max(1, data.length);
  const dataP = K().alloc("uint8", len);
  const ctrl = K().alloc("uint8", CMSG_SPACE_1FD);
  const iov = K().alloc("uint8", 16);
  const hdr = K().alloc("uint8", MSGHDR_SIZE);
  try {
    K().encode(dataP, "uint8", data.length ? Array.from(data) : [0], len);
    const c = Buffer.alloc(CMSG_SPACE_1FD);
    c.writeBigUInt64LE(20n, 0); // CMSG_LEN(sizeof(int))
    c.writeInt32LE(SOL_SOCKET, 8);
    c.writeInt32LE(SCM_RIGHTS, 12);
    c.writeInt32LE(fd, 16);
    K().encode(ctrl, "uint8", Array.from(c), CMSG_SPACE_1FD);
    fillMsghdr(hdr, iov, dataP, len, ctrl);
    for (;;) {
      const r = Number(L().sendmsg(sock, hdr, 0x4000 /* MSG_NOSIGNAL */));
      if (r >= 0) return;
      if (errno() !== 4) throw new SysError("sendmsg", errno());
    }
  } finally {
    K().free(dataP);
    K().free(ctrl);
    K().free(iov);
    K().free(hdr);
  }
}

/** connect a stream unix socket to `path` (console sockets, seccomp listeners). */
export function connectUnix(path: string): number {
  const fd = check("socket", L().socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const sa = Buffer.alloc(110);
  sa.writeUInt16LE(AF_UNIX, 0);
  const p = Buffer.from(path);
  if (p.length >= 108) {
    close(fd);
    throw new Error(`socket path too long: ${path}`);
  }
  p.copy(sa, 2);
  if (Number(L().connect(fd, sa, 2 + p.length + 1)) < 0) {
    const e = errno();
    close(fd);
    throw new SysError(`connect ${path}`, e);
  }
  return fd;
}

// --- bpf(2) -----------------------------------------------------------------------
const SYS_bpf = 321;

/** Native copies of byte arrays, for the pointers a bpf_attr carries. */
export class NativeBytes {
  private ptrs: unknown[] = [];
  put(bytes: Uint8Array): bigint {
    const n = Math.max(1, bytes.length);
    const p = K().alloc("uint8", n);
    K().encode(p, "uint8", bytes.length ? Array.from(bytes) : [0], n);
    this.ptrs.push(p);
    return addr(p);
  }
  room(n: number): { at: bigint; read: () => Uint8Array } {
    const p = K().alloc("uint8", n);
    K().encode(p, "uint8", new Array(n).fill(0), n);
    this.ptrs.push(p);
    return { at: addr(p), read: () => Uint8Array.from(K().decode(p, "uint8", n) as number[]) };
  }
  free(): void {
    for (const p of this.ptrs) K().free(p as any);
    this.ptrs = [];
  }
}

/** bpf(cmd, attr, sizeof attr). koffi hands the Buffer's own memory to the kernel, so
 * commands that write into attr (PROG_QUERY) leave their answer in it. */
export function bpf(cmd: number, attr: Buffer, what: string): number {
  const r = Number(L().syscall(SYS_bpf, "int", cmd, "void *", attr, "unsigned int", attr.length));
  if (r < 0) throw new SysError(what, errno());
  return r;
}

const F_GETFL = 3;
const F_SETFL = 4;

/** Clears O_NONBLOCK (Bun makes its ends of a spawn's pipes non-blocking). */
export function setBlocking(fd: number): void {
  const flags = check("fcntl", L().fcntl(fd, F_GETFL, "int", 0));
  check("fcntl", L().fcntl(fd, F_SETFL, "int", flags & ~O_NONBLOCK));
}

// --- terminals ------------------------------------------------------------------

const TIOCGWINSZ = 0x5413;
const TIOCSWINSZ = 0x5414;

/** Gives `to` the window size of the terminal `from`, when it has one; false otherwise. */
export function copyWinsize(from: number, to: number): boolean {
  const ws = Buffer.alloc(8);
  if (Number(L().ioctl(from, TIOCGWINSZ, "void *", ws)) < 0) return false;
  if (ws.readUInt16LE(0) === 0 && ws.readUInt16LE(2) === 0) return false;
  return Number(L().ioctl(to, TIOCSWINSZ, "void *", ws)) === 0;
}
