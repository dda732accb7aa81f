// The few libc calls the compiler needs: a memfd for seccomp_export_bpf to write into,
// and seccomp(2) itself to ask the running kernel which filter flags it accepts.
import { closeSync, readFileSync } from "node:fs";
import { memfd, rawSyscall, strerror, SysError } from "../native/libc";
import { SeccompError } from "./errors";
import { FILTER_FLAG } from "./names";

/**
 * Runs `write(fd)` against a fresh memfd and returns what it wrote. Read back through
 * /proc/self/fd so a new open file description starts at offset 0, without an lseek binding.
 */
export function captureFd(what: string, write: (fd: number) => number): Uint8Array {
  let fd: number;
  try {
    fd = memfd("dx-seccomp-bpf");
  } catch (e) {
    throw new SeccompError(`seccomp: ${(e as SysError).message}`);
  }
  try {
    const rc = write(fd);
    if (rc < 0) throw new SeccompError(`seccomp: ${what}: ${errnoText(-rc)}`);
    return new Uint8Array(readFileSync(`/proc/self/fd/${fd}`));
  } finally {
    closeSync(fd);
  }
}

// SYS_seccomp differs per architecture; the generic table (arm64, riscv64, loongarch) uses 277.
const SYS_SECCOMP: Record<string, number> = { x64: 317, ia32: 354, arm64: 277, riscv64: 277, loong64: 277, arm: 383, ppc64: 358, s390x: 348 };
const SECCOMP_SET_MODE_FILTER = 1;
const EFAULT = 14;

const probed = new Map<number, boolean>();

/**
 * Whether the kernel accepts `flags` for SECCOMP_SET_MODE_FILTER. With a NULL program the
 * kernel checks the flags first and then fails the copy with EFAULT, so EFAULT means the
 * flags are fine and nothing is installed on this process.
 */
export function kernelAcceptsFilterFlags(flags: number): boolean {
  const known = probed.get(flags);
  if (known !== undefined) return known;
  const nr = SYS_SECCOMP[process.arch];
  let ok = false;
  if (nr !== undefined) {
    const r = rawSyscall(nr, "unsigned int", SECCOMP_SET_MODE_FILTER, "unsigned int", flags, "void *", null);
    ok = r.ret < 0 && r.errno === EFAULT;
  }
  probed.set(flags, ok);
  return ok;
}

/** The flag bits to probe a spec flag with: the kernel refuses WAIT_KILLABLE_RECV without NEW_LISTENER. */
export function probeBitsFor(bit: number): number {
  return bit === FILTER_FLAG.WAIT_KILLABLE_RECV ? bit | FILTER_FLAG.NEW_LISTENER : bit;
}

/** libseccomp returns negated errnos. */
export function errnoText(n: number): string {
  return strerror(n);
}
