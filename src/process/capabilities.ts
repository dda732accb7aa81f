import { readFileSync } from "node:fs";
import { capabilityNumber } from "../spec/capabilities";

/** "CAP_KILL" or "kill" → bit number; undefined for names this kernel ABI table lacks. */
export function capNumber(name: string): number | undefined {
  const up = name.toUpperCase();
  return capabilityNumber(up.startsWith("CAP_") ? up : `CAP_${up}`);
}

let ownBounding: bigint | undefined;

/**
 * The runtime's own bounding set: every process it starts inherits it, so a capability
 * outside it can never be granted (the kernel refuses capset with EPERM).
 */
function runtimeBounding(): bigint {
  if (ownBounding === undefined) {
    const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "latin1"));
    ownBounding = m ? BigInt(`0x${m[1]}`) : ~0n;
  }
  return ownBounding;
}

const warned = new Set<string>();

/**
 * A set of names as a 64-bit mask. Names this runtime doesn't know, and capabilities it
 * cannot grant because it lacks them itself, are warned about and left out: the
 * runtime-spec (since v1.2) asks for a warning there, not a failure.
 */
export function capMask(names: readonly string[] | undefined, warn: (m: string) => void): bigint {
  let m = 0n;
  for (const n of names ?? []) {
    const bit = capNumber(n);
    if (bit === undefined) {
      if (!warned.has(n)) warn(`unknown capability ${JSON.stringify(n)}, ignored`);
      warned.add(n);
      continue;
    }
    const b = 1n << BigInt(bit);
    if (!(runtimeBounding() & b)) {
      if (!warned.has(n)) warn(`capability ${n} is not in the runtime's bounding set and cannot be granted, ignored`);
      warned.add(n);
      continue;
    }
    m |= b;
  }
  return m;
}
