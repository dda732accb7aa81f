// Wire format shared with native/dx-init.c; native/PROTOCOL.md is the contract.

export const Op = {
  RLIMIT: 1,
  SETNS: 2,
  TIMENS: 3,
  CLONE: 4,
  WAIT_GO: 10,
  SETRESID: 11,
  UNSHARE: 12,
  SETSID: 13,
  HOSTNAME: 14,
  DOMAINNAME: 15,
  KEYRING: 16,
  LINK_UP: 17,
  MOUNT: 20,
  ROOTFS: 21,
  MKNOD: 22,
  SYMLINK: 23,
  PIVOT: 24,
  MASK: 25,
  READONLY: 26,
  ROOT_RO: 27,
  SYSCTL: 28,
  MOUNT_ATTR: 29,
  HOOK: 30,
  FIFO_OPEN: 31,
  READY: 32,
  FIFO_WAIT: 33,
  CONSOLE: 34,
  UMASK: 35,
  CHDIR: 36,
  LOOKUP: 37,
  OOM_SCORE: 38,
  MKDIR: 39,
  CAPS_BOUNDING: 40,
  IDENTITY: 41,
  CAPS: 42,
  NO_NEW_PRIVS: 43,
  SECCOMP: 44,
  PERSONALITY: 45,
  SCHED: 46,
  IOPRIO: 47,
  APPARMOR: 48,
  LABEL: 49,
  EXEC: 50,
  AFFINITY: 51,
  CGROUP_JOIN: 52,
  FIFO_MAKE: 53,
  BIND_SOURCES: 54,
  HIDE_HOST: 55,
  DEVNULL_STDIO: 56,
} as const;
export type OpCode = (typeof Op)[keyof typeof Op];

export const OpName: Record<number, string> = Object.fromEntries(
  Object.entries(Op).map(([k, v]) => [v, k.toLowerCase()]),
);

/** `how` bits of a MOUNT step. */
export const MountHow = {
  IN_ROOT: 1,
  MKDIR: 2,
  MKFILE: 4,
  NO_SYMLINK: 8,
  KEEP_LOCKED: 16,
  SOURCE_IN_ROOT: 32,
  /** the source is the fd BIND_SOURCES opened, in the slot held by bits 32..63 */
  SOURCE_FD: 64,
  /** sysfs refused with EPERM (a user namespace without its own network namespace): bind /sys */
  SYS_BIND_ON_EPERM: 128,
} as const;

export const Msg = {
  PID: 1,
  GO: 2,
  READY: 3,
  ERROR: 4,
  PTY: 5,
  SECCOMP_FD: 6,
  LOCKED: 7,
  PLAN: 8,
} as const;

/** CLONE mode: P exits after reporting the pid, or stays to reap C and mirror its status. */
export const CloneMode = { DETACH: 0, WAIT: 1 } as const;

export type Field =
  | { u64: number | bigint }
  | { str: string }
  | { bytes: Uint8Array }
  | { strv: string[] };

export interface Step {
  op: OpCode;
  fields: Field[];
}

const enc = new TextEncoder();

/**
 * Serialises steps into the "DXP1" plan format, in one growing buffer: create runs this
 * once, cold, and a small array per field cost about a millisecond before.
 */
export function encodePlan(steps: Step[]): Uint8Array {
  const w = new PlanWriter();
  w.bytes(enc.encode("DXP1"));
  for (const step of steps) {
    w.reserve(8);
    const head = w.n;
    w.dv.setUint16(head, step.op, true);
    w.dv.setUint16(head + 2, 0, true);
    w.n += 8;
    for (const f of step.fields) {
      if ("u64" in f) w.u64(f.u64);
      else if ("str" in f) w.str(f.str);
      else if ("bytes" in f) {
        w.u32(f.bytes.length);
        w.bytes(f.bytes);
      } else {
        w.u64(f.strv.length);
        for (const x of f.strv) w.str(x);
      }
    }
    w.dv.setUint32(head + 4, w.n - head - 8, true);
  }
  return w.buf.slice(0, w.n);
}

class PlanWriter {
  buf = new Uint8Array(16384);
  dv = new DataView(this.buf.buffer);
  n = 0;

  reserve(k: number): void {
    if (this.n + k <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.n + k) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.n));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u32(v: number): void {
    this.reserve(4);
    this.dv.setUint32(this.n, v, true);
    this.n += 4;
  }
  u64(v: number | bigint): void {
    this.reserve(8);
    // Most fields are small numbers, and BigInt arithmetic is slow before the JIT.
    if (typeof v === "number" && v >>> 0 === v) {
      this.dv.setUint32(this.n, v, true);
      this.dv.setUint32(this.n + 4, 0, true);
    } else this.dv.setBigUint64(this.n, BigInt.asUintN(64, BigInt(v)), true);
    this.n += 8;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.n);
    this.n += b.length;
  }
  /** u32 length (NUL included), the UTF-8 bytes, NUL. */
  str(s: string): void {
    if (s.includes("\0")) throw new Error(`string contains a NUL byte: ${JSON.stringify(s)}`);
    this.reserve(4 + s.length * 3 + 1);
    const { written } = enc.encodeInto(s, this.buf.subarray(this.n + 4));
    this.dv.setUint32(this.n, written + 1, true);
    this.buf[this.n + 4 + written] = 0;
    this.n += 4 + written + 1;
  }
}
