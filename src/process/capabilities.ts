import { capabilityNumber } from "../spec/capabilities";

/** "CAP_KILL" or "kill" → bit number; undefined for names this kernel ABI table lacks. */
export function capNumber(name: string): number | undefined {
  const up = name.toUpperCase();
  return capabilityNumber(up.startsWith("CAP_") ? up : `CAP_${up}`);
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
