// A profile lists the syscalls its author knew of. A syscall added to the kernel later
// (clone3, faccessat2, ...) would meet the profile's default action, typically EPERM or
// a kill, where a program expects ENOSYS and falls back to an older call: glibc's clone3
// fallback only happens on ENOSYS. So, as runc does, a short program is put in front of
// the filter: per architecture, any syscall number above the highest one the profile
// names returns ENOSYS, and everything else goes on to the filter unchanged.
import { SeccompError } from "./errors";

/** SECCOMP_RET_ERRNO | ENOSYS */
const RET_ENOSYS = 0x00050000 | 38;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const AUDIT_ARCH_S390 = 0x00000016;
const AUDIT_ARCH_S390X = 0x80000016;
/** x32 syscalls are x86_64 syscalls with this bit set in their number. */
const X32_SYSCALL_BIT = 0x40000000;
/** The kernel's BPF_MAXINSNS. */
const MAX_INSNS = 4096;

// Classic BPF opcodes (linux/filter.h).
const LD_W_ABS = 0x20;
const JMP_JA = 0x05;
const JMP_JEQ_K = 0x15;
const JMP_JGT_K = 0x25;
const JMP_JSET_K = 0x45;
const RET_K = 0x06;

/** Offsets into struct seccomp_data. */
const DATA_NR = 0;
const DATA_ARCH = 4;

/** The highest syscall number named for one AUDIT_ARCH; x86_64 also has the x32 ABI. */
export interface ArchLimit {
  auditArch: number;
  /** the highest number named for the arch itself (for x86_64: its native ABI) */
  max?: number;
  /** x86_64 only: the highest x32 number named, X32_SYSCALL_BIT included */
  x32Max?: number;
}

type Target = string;
interface Insn {
  code: number;
  k: number;
  /** a jump's targets by label; a conditional falls through to the next insn without one */
  jt?: Target;
  jf?: Target;
}

const FILTER = "filter";
const ENOSYS = "enosys";

/**
 * The stub, as raw struct sock_filter (8 bytes each, native byte order), to be put in
 * front of the exported filter. Empty when no architecture has a limit.
 */
export function enosysStub(limits: ArchLimit[]): Uint8Array {
  const live = limits.filter((l) => l.max !== undefined || l.x32Max !== undefined);
  if (!live.length) return new Uint8Array(0);
  const prog: Insn[] = [];
  const labels = new Map<string, number>();
  const label = (name: string) => labels.set(name, prog.length);

  prog.push({ code: LD_W_ABS, k: DATA_ARCH });
  live.forEach((l, i) => prog.push({ code: JMP_JEQ_K, k: l.auditArch >>> 0, jt: `arch${i}` }));
  prog.push({ code: JMP_JA, k: 0, jt: FILTER });
  live.forEach((l, i) => {
    label(`arch${i}`);
    prog.push({ code: LD_W_ABS, k: DATA_NR });
    // On s390 a syscall number the kernel does not know arrives as 0, the old setup(2),
    // which no program calls any more: it is the one sure sign of an unknown syscall.
    if (l.auditArch === AUDIT_ARCH_S390 || l.auditArch === AUDIT_ARCH_S390X) prog.push({ code: JMP_JEQ_K, k: 0, jt: ENOSYS });
    if (l.auditArch !== AUDIT_ARCH_X86_64) {
      prog.push({ code: JMP_JGT_K, k: l.max!, jt: ENOSYS, jf: FILTER });
      return;
    }
    // One AUDIT_ARCH, two ABIs told apart by a bit of the number: a limit applies only
    // to the ABI it was computed for, the other ABI goes straight on to the filter.
    prog.push({ code: JMP_JSET_K, k: X32_SYSCALL_BIT, jt: l.x32Max !== undefined ? `x32_${i}` : FILTER, jf: l.max !== undefined ? undefined : FILTER });
    if (l.max !== undefined) prog.push({ code: JMP_JGT_K, k: l.max, jt: ENOSYS, jf: FILTER });
    if (l.x32Max !== undefined) {
      label(`x32_${i}`);
      prog.push({ code: JMP_JGT_K, k: l.x32Max >>> 0, jt: ENOSYS, jf: FILTER });
    }
  });
  label(ENOSYS);
  prog.push({ code: RET_K, k: RET_ENOSYS });
  label(FILTER);

  const out = new Uint8Array(prog.length * 8);
  const view = new DataView(out.buffer);
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  prog.forEach((insn, i) => {
    const rel = (t: Target | undefined): number => {
      if (t === undefined) return 0;
      const at = labels.get(t);
      if (at === undefined || at <= i) throw new SeccompError(`seccomp: ENOSYS stub: bad jump to ${t}`);
      return at - (i + 1);
    };
    let k = insn.k;
    let jt = 0;
    let jf = 0;
    if (insn.code === JMP_JA) k = rel(insn.jt);
    else {
      jt = rel(insn.jt);
      jf = rel(insn.jf);
    }
    // Conditional jumps reach 255 instructions at most; the stub is a handful per arch.
    if (jt > 255 || jf > 255) throw new SeccompError("seccomp: ENOSYS stub: too many architectures for a short jump");
    view.setUint16(i * 8, insn.code, le);
    view.setUint8(i * 8 + 2, jt);
    view.setUint8(i * 8 + 3, jf);
    view.setUint32(i * 8 + 4, k >>> 0, le);
  });
  return out;
}

/** The stub in front of `bpf`; refused if the whole would exceed what the kernel loads. */
export function prependEnosysStub(bpf: Uint8Array, limits: ArchLimit[]): Uint8Array {
  const stub = enosysStub(limits);
  if (!stub.length) return bpf;
  if ((stub.length + bpf.length) / 8 > MAX_INSNS) throw new SeccompError(`seccomp: the filter has more than ${MAX_INSNS} instructions`);
  const out = new Uint8Array(stub.length + bpf.length);
  out.set(stub, 0);
  out.set(bpf, stub.length);
  return out;
}

/** The AUDIT_ARCH a libseccomp arch token stands for: the same value, but for x32's made-up token. */
export function auditArchOf(specName: string, token: number): number {
  return specName === "SCMP_ARCH_X32" ? AUDIT_ARCH_X86_64 : token >>> 0;
}
