// The few system calls checkpoint and restore make through src/native/libc: a seqpacket
// socketpair for `criu swrk`, a plain write on it, bind mounts of the rootfs, an fd's
// flags (--status-fd) and a wait for a child Bun did not spawn (the restored init).
import { SysError, errno, libcFunctions as L } from "../native/libc";

const AF_UNIX = 1;
const SOCK_SEQPACKET = 5;
const SOCK_CLOEXEC = 0x80000;
const MS_RDONLY = 0x1;
const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;
const MNT_DETACH = 2;
const F_GETFL = 3;

/** Both ends close-on-exec: the child's end reaches it through Bun.spawn's stdio list. */
export function seqpacketPair(): [number, number] {
  const sv = [0, 0];
  if (Number(L().socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) < 0) throw new SysError("socketpair", errno());
  return [sv[0]!, sv[1]!];
}

/** One datagram: on a seqpacket socket a write is one whole message. */
export function writePacket(fd: number, data: Uint8Array): void {
  for (;;) {
    const n = Number(L().write(fd, data, data.length));
    if (n === data.length) return;
    if (n < 0 && errno() === 4) continue;
    throw new SysError("write to criu", n < 0 ? errno() : 5);
  }
}

export function shutdownWrite(fd: number): void {
  L().shutdown(fd, 1);
}

export function bindMount(source: string, target: string): void {
  if (Number(L().mount(source, target, null, MS_BIND | MS_REC, null)) < 0) throw new SysError(`mount ${source} on ${target}`, errno());
}

/** The bind mount at `target` made read-only (the mount alone, not what lies under it). */
export function remountReadonly(target: string): void {
  if (Number(L().mount(null, target, null, MS_BIND | MS_REMOUNT | MS_RDONLY, null)) < 0) throw new SysError(`remount ${target} read-only`, errno());
}

/** Detaches a mount; false when it was none (EINVAL) or is gone. */
export function detach(target: string): boolean {
  return Number(L().umount2(target, MNT_DETACH)) === 0;
}

/** The fd's open flags, or -errno. */
export function fdFlags(fd: number): number {
  const r = Number(L().fcntl(fd, F_GETFL, "int", 0));
  return r < 0 ? -errno() : r;
}

/**
 * The exit status of the child `pid` as a shell gives it (128+sig for a signal), or null
 * while it runs. The restored init is our child (rst_sibling), not one of Bun's.
 */
export function waitChildNoHang(pid: number): number | null {
  const st = [0];
  for (;;) {
    const r = Number(L().waitpid(pid, st, 1 /* WNOHANG */));
    if (r === 0) return null;
    if (r === pid) break;
    if (r < 0 && errno() === 4) continue;
    throw new SysError(`wait for ${pid}`, errno());
  }
  const s = st[0]!;
  return (s & 0x7f) === 0 ? (s >> 8) & 0xff : 128 + (s & 0x7f);
}

/** PR_SET_CHILD_SUBREAPER: orphans of the restored tree come back to us, as runc does. */
export function becomeSubreaper(): void {
  L().prctl(36, 1, 0, 0, 0);
}
