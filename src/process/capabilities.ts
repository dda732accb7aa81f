// Capability names → bit numbers (linux/capability.h). The order is the kernel ABI.
const NAMES = [
  "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
  "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
  "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
  "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
  "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
  "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
] as const;

export const CAPABILITY_NAMES: readonly string[] = NAMES;

const BY_NAME = new Map<string, number>(NAMES.map((n, i) => [n, i]));

export function capNumber(name: string): number | undefined {
  return BY_NAME.get(name.toUpperCase().startsWith("CAP_") ? name.toUpperCase() : `CAP_${name.toUpperCase()}`);
}

/** A set of names as a 64-bit mask; names this runtime doesn't know are reported, not fatal, as runc does. */
export function capMask(names: readonly string[] | undefined, warn: (m: string) => void): bigint {
  let m = 0n;
  for (const n of names ?? []) {
    const bit = capNumber(n);
    if (bit === undefined) {
      warn(`unknown capability ${JSON.stringify(n)}, ignored`);
      continue;
    }
    m |= 1n << BigInt(bit);
  }
  return m;
}
