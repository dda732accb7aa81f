// Value conversions between the runtime-spec's (cgroup v1 shaped) resources and the
// files each cgroup version takes.

import { CgroupError } from "./errors";

const I64_MAX = (1n << 63n) - 1n;
const I64_MIN = -(1n << 63n);
const U64_MAX = (1n << 64n) - 1n;

// config.json goes through JSON.parse, so a 64-bit value near the top of the range
// arrives rounded up past it (9223372036854775807 → 2^63). Clamp instead of letting
// the kernel reject the out-of-range text.
function integer(n: number, what: string): bigint {
  if (!Number.isFinite(n) || !Number.isInteger(n)) throw new CgroupError(`cgroup: ${what}: ${n} is not an integer`);
  return BigInt(n);
}

export function i64(n: number, what = "value"): string {
  let v = integer(n, what);
  if (v > I64_MAX) v = I64_MAX;
  if (v < I64_MIN) v = I64_MIN;
  return v.toString();
}

export function u64(n: number, what = "value"): string {
  let v = integer(n, what);
  if (v < 0n) throw new CgroupError(`cgroup: ${what}: ${n} is negative`);
  if (v > U64_MAX) v = U64_MAX;
  return v.toString();
}

/**
 * cpu.shares (2..262144, default 1024) → cpu.weight (1..10000, default 100) on the
 * curve runc and crun share: a quadratic in log2(shares) through the minimum, the
 * default and the maximum, so the default maps to exactly 100.
 */
export function sharesToWeight(shares: number): number {
  if (shares === 0) return 0;
  if (shares <= 2) return 1;
  if (shares >= 262144) return 10000;
  const l = Math.log2(shares);
  const exponent = (l * l + 125 * l) / 612 - 7 / 34;
  return Math.ceil(10 ** exponent);
}

/** blkio weight (10..1000) → io.weight (1..10000), linearly as runc does. */
export function blkioWeightToIOWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * The spec's memory.swap is memory+swap (v1 memsw); v2's memory.swap.max is swap alone.
 * Returns the memory.swap.max value, or undefined for "leave it alone".
 */
export function swapToV2(swap: number | undefined, limit: number | undefined): string | undefined {
  const mem = limit ?? 0;
  const sw = swap ?? 0;
  if (mem === -1 && sw === 0) return "max";
  if (sw === -1) return "max";
  // 0 is "unset" in runc's reading of the spec, not "no memory at all".
  if (sw === 0) return undefined;
  if (mem === -1) return i64(sw, "memory.swap");
  if (mem === 0) throw new CgroupError("cgroup: memory.swap: unable to set swap limit without memory limit");
  if (mem < 0) throw new CgroupError(`cgroup: memory.limit: invalid memory value ${mem}`);
  if (sw < mem) throw new CgroupError(`cgroup: memory.swap: memory+swap limit ${sw} should be >= memory limit ${mem}`);
  return i64(sw - mem, "memory.swap");
}
