// linux.resources as systemd unit properties (D-Bus signature a(sv)). What systemd has
// no property for is written to the cgroup files afterwards, as on a plain v2 host.

import type { LinuxResources } from "../../spec/types";
import { blkioWeightToIOWeight, sharesToWeight, swapToV2 } from "../convert";
import { CgroupError, unifiedKeyError } from "../errors";
import { deviceRules, WILDCARD, type DeviceRule } from "../devices";
import type { Property } from "./dbus";

/** systemd's "infinity" for a u64 property. */
export const INFINITY = "18446744073709551615";

const u64 = (v: number | bigint | string): [string, string] => ["t", String(v)];

/** A limit in the spec's reading: -1 is unlimited; 0 and undefined leave it unset. */
function limit(v: number | undefined): string | undefined {
  if (v === undefined || v === 0) return undefined;
  if (v === -1) return INFINITY;
  if (v < 0) throw new CgroupError(`cgroup: invalid limit ${v}`);
  return String(BigInt(v));
}

/** "0-2,7" → systemd's CPU/NUMA set: byte i bit j is member 8i+j. */
export function setToBytes(list: string, what: string): number[] {
  const bytes: number[] = [];
  for (const part of list.split(",").map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new CgroupError(`cgroup: invalid ${what} ${JSON.stringify(list)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi > 8191) throw new CgroupError(`cgroup: invalid ${what} ${JSON.stringify(list)}`);
    for (let i = lo; i <= hi; i++) {
      while (bytes.length <= i >> 3) bytes.push(0);
      bytes[i >> 3]! |= 1 << (i & 7);
    }
  }
  return bytes;
}

/** runc's rounding: a quota systemd can store, per second, a multiple of 10 ms upwards. */
export function quotaPerSecUSec(quota: number, period: number): string {
  if (quota === -1) return INFINITY;
  let perSec = (BigInt(quota) * 1_000_000n) / BigInt(period);
  if (perSec % 10_000n !== 0n) perSec = (perSec / 10_000n + 1n) * 10_000n;
  return perSec.toString();
}

function deviceName(type: "b" | "c", major: number): string | undefined {
  // A wildcard minor is a whole driver: systemd names it as /proc/devices does.
  let text = "";
  try {
    text = require("node:fs").readFileSync("/proc/devices", "utf8");
  } catch {
    return undefined;
  }
  let section = "";
  for (const line of text.split("\n")) {
    if (line.startsWith("Character")) section = "c";
    else if (line.startsWith("Block")) section = "b";
    else {
      const m = /^\s*(\d+)\s+(\S+)/.exec(line);
      if (m && section === type && Number(m[1]) === major) return m[2];
    }
  }
  return undefined;
}

/**
 * DevicePolicy and DeviceAllow for the rules. systemd can only allow: a rule it cannot
 * express is left to the runtime's own device filter, which is attached as well and
 * has the last word (a device must pass both).
 */
export function deviceProperties(rules: readonly DeviceRule[]): Property[] {
  const allowAll = rules.some((r) => r.allow && r.type === "a" && r.access === "rwm");
  const denied = rules.some((r) => !r.allow);
  if (allowAll && !rules.slice(rules.findIndex((r) => r.allow && r.type === "a") + 1).some((r) => !r.allow)) {
    return [["DevicePolicy", ["s", "auto"]], ["DeviceAllow", ["a(ss)", []]]];
  }
  const allow: [string, string][] = [];
  for (const r of rules) {
    if (!r.allow || r.type === "a") continue;
    const kind = r.type === "c" ? "char" : "block";
    if (r.major === WILDCARD) {
      allow.push([`${kind}-*`, r.access]);
    } else if (r.minor === WILDCARD) {
      const name = deviceName(r.type, r.major);
      if (name) allow.push([`${kind}-${name}`, r.access]);
    } else {
      allow.push([`/dev/${kind}/${r.major}:${r.minor}`, r.access]);
    }
  }
  void denied;
  return [["DevicePolicy", ["s", "strict"]], ["DeviceAllow", ["a(ss)", allow]]];
}

/**
 * The unit properties for `r`, as runc 1.1 gives them for each cgroup version (v1:
 * genV1ResourcesProperties, v2: genV2ResourcesProperties). `devices` is false for an
 * update that does not mention devices, which must leave a running container's
 * allowlist alone.
 */
export function resourceProperties(r: LinuxResources | undefined, opts: { devices?: boolean; version?: 1 | 2 } = {}): Property[] {
  const p: Property[] = [];
  const res = r ?? {};
  const v1 = opts.version === 1;
  if (opts.devices !== false) p.push(...deviceProperties(deviceRules(res.devices)));
  const mem = res.memory;
  if (mem) {
    const max = limit(mem.limit);
    if (max !== undefined) p.push([v1 ? "MemoryLimit" : "MemoryMax", u64(max)]);
    if (!v1) {
      const low = limit(mem.reservation);
      if (low !== undefined) p.push(["MemoryLow", u64(low)]);
      const swap = swapToV2(mem.swap, mem.limit);
      if (swap !== undefined) p.push(["MemorySwapMax", u64(swap === "max" ? INFINITY : swap)]);
    }
  }
  const cpu = res.cpu;
  if (cpu?.shares) p.push(v1 ? ["CPUShares", u64(cpu.shares)] : ["CPUWeight", u64(sharesToWeight(cpu.shares))]);
  if (cpu) p.push(...quotaProperties(cpu.quota ?? 0, cpu.period ?? 0));
  // runc 1.1 sets no IOWeight on v2 and leaves io.weight to the files; systemd told the
  // weight keeps it when it realizes the unit again (daemon-reload), where its default
  // would otherwise be written back.
  const weight = res.blockIO?.weight;
  if (weight) p.push(v1 ? ["BlockIOWeight", u64(weight)] : ["IOWeight", u64(blkioWeightToIOWeight(weight))]);
  const pids = res.pids?.limit;
  if (pids !== undefined && (pids > 0 || pids === -1)) p.push(["TasksMax", u64(pids < 0 ? INFINITY : pids)]);
  if (cpu?.cpus) p.push(["AllowedCPUs", ["ay", setToBytes(cpu.cpus, "cpuset.cpus")]]);
  if (cpu?.mems) p.push(["AllowedMemoryNodes", ["ay", setToBytes(cpu.mems, "cpuset.mems")]]);
  if (!v1 && res.unified) p.push(...unifiedProperties(res.unified));
  return p;
}

/** CPUQuotaPeriodUSec and CPUQuotaPerSecUSec for a quota and period (0: unset), as runc's addCpuQuota. */
function quotaProperties(quota: number, period: number): Property[] {
  const p: Property[] = [];
  if (period) p.push(["CPUQuotaPeriodUSec", u64(period)]);
  if (quota !== 0 || period !== 0) p.push(["CPUQuotaPerSecUSec", u64(quota > 0 ? quotaPerSecUSec(quota, period || 100_000) : INFINITY)]);
  return p;
}

const UNIFIED_MEMORY: Record<string, string> = {
  "memory.high": "MemoryHigh",
  "memory.low": "MemoryLow",
  "memory.min": "MemoryMin",
  "memory.max": "MemoryMax",
  "memory.swap.max": "MemorySwapMax",
};

/**
 * linux.resources.unified keys systemd has a property for (runc's
 * unifiedResToSystemdProps); the others reach only the files, written after.
 */
export function unifiedProperties(unified: Record<string, string>): Property[] {
  const p: Property[] = [];
  const bad = (k: string, v: string) => new CgroupError(`cgroup: unified resource ${JSON.stringify(k)} value invalid: ${JSON.stringify(v)}`);
  const num = (k: string, v: string, max: boolean): string => {
    if (max && v === "max") return INFINITY;
    if (!/^\d+$/.test(v) || BigInt(v) > BigInt(INFINITY)) throw bad(k, v);
    return String(BigInt(v));
  };
  for (const [k, raw] of Object.entries(unified)) {
    if (k.includes("/")) throw unifiedKeyError(k, "path");
    if (k.indexOf(".") <= 0) throw unifiedKeyError(k, "form");
    const v = raw.trim();
    if (k === "cpu.max") {
      const f = v.split(/\s+/);
      if (f.length < 1 || f.length > 2 || !f[0]) throw bad(k, v);
      const quota = f[0] === "max" ? 0 : Number(num(k, f[0], false));
      const period = f.length === 2 ? Number(num(k, f[1]!, false)) : 100_000;
      p.push(...quotaProperties(quota, period));
    } else if (k === "cpu.weight") {
      p.push(["CPUWeight", u64(num(k, v, false))]);
    } else if (k === "cpuset.cpus" || k === "cpuset.mems") {
      p.push([k === "cpuset.cpus" ? "AllowedCPUs" : "AllowedMemoryNodes", ["ay", setToBytes(v, k)]]);
    } else if (UNIFIED_MEMORY[k]) {
      p.push([UNIFIED_MEMORY[k]!, u64(num(k, v, true))]);
    } else if (k === "pids.max") {
      p.push(["TasksMax", u64(num(k, v, true))]);
    }
  }
  return p;
}
