// The device allowlist. The container starts from "deny everything", then the config's
// rules apply in order, then the devices every container needs (as runc appends them:
// mknod of any node, /dev/null, zero, full, random, urandom, tty, ptmx, pts, tun).

import type { LinuxDeviceCgroup } from "../spec/types";
import { CgroupError } from "./errors";
import { writeFile } from "./files";
import { attachDeviceFilter } from "./bpf";
import { deviceFilterProgram } from "./devicefilter";

export const WILDCARD = -1;

export interface DeviceRule {
  allow: boolean;
  type: "a" | "b" | "c";
  /** -1 is the wildcard "*" */
  major: number;
  minor: number;
  /** a non-empty subset of "rwm" */
  access: string;
}

const rule = (type: "b" | "c", major: number, minor: number, access: string): DeviceRule => ({
  allow: true,
  type,
  major,
  minor,
  access,
});

export const DEFAULT_ALLOWED_DEVICES: readonly DeviceRule[] = [
  rule("c", WILDCARD, WILDCARD, "m"),
  rule("b", WILDCARD, WILDCARD, "m"),
  rule("c", 1, 3, "rwm"), // /dev/null
  rule("c", 1, 8, "rwm"), // /dev/random
  rule("c", 1, 7, "rwm"), // /dev/full
  rule("c", 5, 0, "rwm"), // /dev/tty
  rule("c", 1, 5, "rwm"), // /dev/zero
  rule("c", 1, 9, "rwm"), // /dev/urandom
  rule("c", 136, WILDCARD, "rwm"), // /dev/pts/*
  rule("c", 5, 2, "rwm"), // /dev/ptmx
  rule("c", 10, 200, "rwm"), // /dev/net/tun
];

/**
 * The access kinds a rule names, in the kernel's order. runc reads the string as a set:
 * any order, repeats, and letters other than r, w and m ignored ("rwa" is "rw"); only an
 * empty string is refused. An absent access means every kind, as crun reads it.
 */
function normalizeAccess(access: string | undefined, index: number): string {
  if (access === undefined) return "rwm";
  if (access === "") throw new CgroupError(`cgroup: linux.resources.devices[${index}]: device access cannot be empty`);
  return ["r", "w", "m"].filter((c) => access.includes(c)).join("");
}

/**
 * The config's rules, validated, followed by the defaults. A type "a" rule that names
 * a device or only some access kinds is split into "b" and "c" rules: the kernel
 * reads any "a" line as "everything", which would widen it.
 */
export function deviceRules(devices: readonly LinuxDeviceCgroup[] | undefined): DeviceRule[] {
  const out: DeviceRule[] = [];
  (devices ?? []).forEach((d, i) => {
    const type = d.type ?? "a";
    if (type !== "a" && type !== "b" && type !== "c") {
      throw new CgroupError(`cgroup: linux.resources.devices[${i}]: invalid type ${JSON.stringify(type)} (want "a", "b" or "c")`);
    }
    const major = d.major ?? WILDCARD;
    const minor = d.minor ?? WILDCARD;
    for (const n of [major, minor]) {
      if (!Number.isInteger(n) || n < WILDCARD) {
        throw new CgroupError(`cgroup: linux.resources.devices[${i}]: invalid device number ${n}`);
      }
    }
    const access = normalizeAccess(d.access, i);
    // Nothing runc would read from it ("xyz"): the rule allows or denies nothing.
    if (!access) return;
    if (type === "a" && (major !== WILDCARD || minor !== WILDCARD || access !== "rwm")) {
      out.push({ allow: d.allow, type: "c", major, minor, access }, { allow: d.allow, type: "b", major, minor, access });
    } else {
      out.push({ allow: d.allow, type, major, minor, access });
    }
  });
  out.push(...DEFAULT_ALLOWED_DEVICES);
  return out;
}

/** The line devices.allow / devices.deny take: "c 1:3 rwm", "a" for everything. */
export function ruleString(r: DeviceRule): string {
  if (r.type === "a") return "a";
  const n = (x: number) => (x === WILDCARD ? "*" : String(x));
  return `${r.type} ${n(r.major)}:${n(r.minor)} ${r.access}`;
}

/**
 * v1: reset to deny-all, then replay the rules in order so the kernel's own
 * allow/deny semantics decide the result. The reset briefly denies everything, which
 * is harmless while the cgroup is still empty (create); an update of a running
 * container sees that window too.
 */
export function applyDevicesV1(dir: string, rules: readonly DeviceRule[]): void {
  writeFile(dir, "devices.deny", "a");
  for (const r of rules) writeFile(dir, r.allow ? "devices.allow" : "devices.deny", ruleString(r));
}

/**
 * v2 has no device files: the allowlist is a BPF_PROG_TYPE_CGROUP_DEVICE program
 * attached to the cgroup, built from the same rules.
 */
export function applyDevicesV2(dir: string, rules: readonly DeviceRule[]): void {
  attachDeviceFilter(dir, deviceFilterProgram(rules));
}
