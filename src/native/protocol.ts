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
  MOUNT: 20,
  ROOTFS: 21,
  MKNOD: 22,
  SYMLINK: 23,
  PIVOT: 24,
  MASK: 25,
  READONLY: 26,
  ROOT_RO: 27,
  SYSCTL: 28,
  HOOK: 30,
  FIFO_OPEN: 31,
  READY: 32,
  FIFO_WAIT: 33,
  CONSOLE: 34,
  UMASK: 35,
  CHDIR: 36,
  LOOKUP: 37,
  OOM_SCORE: 38,
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
} as const;

export const Msg = {
  PID: 1,
  GO: 2,
  READY: 3,
  ERROR: 4,
  PTY: 5,
  SECCOMP_FD: 6,
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

/** Serialises steps into the "DXP1" plan format. */
export function encodePlan(steps: Step[]): Uint8Array {
  const chunks: Uint8Array[] = [enc.encode("DXP1")];
  let total = 4;
  for (const step of steps) {
    const body = encodeFields(step.fields);
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setUint16(0, step.op, true);
    dv.setUint16(2, 0, true);
    dv.setUint32(4, body.length, true);
    chunks.push(head, body);
    total += 8 + body.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function encodeFields(fields: Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const u64 = (v: number | bigint) => {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(v)), true);
    parts.push(b);
  };
  const u32 = (v: number) => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    parts.push(b);
  };
  const str = (s: string) => {
    if (s.includes("\0")) throw new Error(`string contains a NUL byte: ${JSON.stringify(s)}`);
    const b = enc.encode(s + "\0");
    u32(b.length);
    parts.push(b);
  };
  for (const f of fields) {
    if ("u64" in f) u64(f.u64);
    else if ("str" in f) str(f.str);
    else if ("bytes" in f) {
      u32(f.bytes.length);
      parts.push(f.bytes);
    } else {
      u64(f.strv.length);
      for (const s of f.strv) str(s);
    }
  }
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
