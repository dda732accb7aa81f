// The spec's seccomp vocabulary and the values it stands for in seccomp.h and the
// kernel's seccomp(2) ABI.

/** SECCOMP_RET_* values; ERRNO and TRACE carry 16 bits of data in the low half. */
export const ACTIONS = {
  // runc and crun both read the bare KILL as KILL_THREAD, which is what it meant
  // before KILL_PROCESS existed.
  SCMP_ACT_KILL: 0x00000000,
  SCMP_ACT_KILL_PROCESS: 0x80000000,
  SCMP_ACT_KILL_THREAD: 0x00000000,
  SCMP_ACT_TRAP: 0x00030000,
  SCMP_ACT_ERRNO: 0x00050000,
  SCMP_ACT_TRACE: 0x7ff00000,
  SCMP_ACT_ALLOW: 0x7fff0000,
  SCMP_ACT_LOG: 0x7ffc0000,
  SCMP_ACT_NOTIFY: 0x7fc00000,
} as const;
export type ActionName = keyof typeof ACTIONS;

/** Actions whose 16-bit data is the errnoRet (for TRACE: the value the tracer reads). */
export const ACTIONS_WITH_DATA: ReadonlySet<string> = new Set(["SCMP_ACT_ERRNO", "SCMP_ACT_TRACE"]);

/** enum scmp_compare. */
export const OPERATORS = {
  SCMP_CMP_NE: 1,
  SCMP_CMP_LT: 2,
  SCMP_CMP_LE: 3,
  SCMP_CMP_EQ: 4,
  SCMP_CMP_GE: 5,
  SCMP_CMP_GT: 6,
  SCMP_CMP_MASKED_EQ: 7,
} as const;

/** Spec architecture names and the names seccomp_arch_resolve_name() knows them by. */
export const ARCHES: Record<string, string> = {
  SCMP_ARCH_X86: "x86",
  SCMP_ARCH_X86_64: "x86_64",
  SCMP_ARCH_X32: "x32",
  SCMP_ARCH_ARM: "arm",
  SCMP_ARCH_AARCH64: "aarch64",
  SCMP_ARCH_LOONGARCH64: "loongarch64",
  SCMP_ARCH_M68K: "m68k",
  SCMP_ARCH_MIPS: "mips",
  SCMP_ARCH_MIPS64: "mips64",
  SCMP_ARCH_MIPS64N32: "mips64n32",
  SCMP_ARCH_MIPSEL: "mipsel",
  SCMP_ARCH_MIPSEL64: "mipsel64",
  SCMP_ARCH_MIPSEL64N32: "mipsel64n32",
  SCMP_ARCH_PPC: "ppc",
  SCMP_ARCH_PPC64: "ppc64",
  SCMP_ARCH_PPC64LE: "ppc64le",
  SCMP_ARCH_S390: "s390",
  SCMP_ARCH_S390X: "s390x",
  SCMP_ARCH_SH: "sh",
  SCMP_ARCH_SHEB: "sheb",
  SCMP_ARCH_PARISC: "parisc",
  SCMP_ARCH_PARISC64: "parisc64",
  SCMP_ARCH_RISCV64: "riscv64",
};

/** SECCOMP_FILTER_FLAG_* bits of seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
export const FILTER_FLAG = {
  TSYNC: 1,
  LOG: 2,
  SPEC_ALLOW: 4,
  NEW_LISTENER: 8,
  TSYNC_ESRCH: 16,
  WAIT_KILLABLE_RECV: 32,
} as const;

/** The flags a config may name, in the spec's order. */
export const SPEC_FLAGS = {
  SECCOMP_FILTER_FLAG_TSYNC: FILTER_FLAG.TSYNC,
  SECCOMP_FILTER_FLAG_LOG: FILTER_FLAG.LOG,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: FILTER_FLAG.SPEC_ALLOW,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: FILTER_FLAG.WAIT_KILLABLE_RECV,
} as const;

export const EPERM = 1;
/** The kernel clamps SECCOMP_RET_ERRNO data to MAX_ERRNO. */
export const MAX_ERRNO = 4095;
/** Linux passes at most six arguments to a system call. */
export const MAX_SYSCALL_ARGS = 6;
