// linux.resources as systemd unit properties (D-Bus signature a(sv)). What systemd has
// no property for is written to the cgroup files afterwards, as on a plain v2 host.

import type { LinuxResources } from "../../spec/types";
import { blkioWeightToIOWeight, sharesToWeight, swapToV2 } from "../convert";
import { CgroupError } from "../errors";
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
 * The unit properties for `r`. `devices` is false for an update that does not mention
 * devices, which must leave a running container's allowlist alone.
 */
export function resourceProperties(r: LinuxResources | undefined, opts: { devices?: boolean } = {}): Property[] {
  const p: Property[] = [];
  const res = r ?? {};
  const mem = res.memory;
  if (mem) {
    const max = limit(mem.limit);
    if (max !== undefined) p.push(["MemoryMax", u64(max)]);
    const low = limit(mem.reservation);
    if (low !== undefined) p.push(["MemoryLow", u64(low)]);
    const swap = swapToV2(mem.swap, mem.limit);
    if (swap !== undefined) p.push(["MemorySwapMax", u64(swap === "max" ? INFINITY : swap)]);
  }
  const cpu = res.cpu;
  if (cpu) {
    if (cpu.shares) p.push(["CPUWeight", u64(sharesToWeight(cpu.shares))]);
    const period = cpu.period ?? 0;
    if (cpu.quota !== undefined && cpu.quota !== 0) {
      p.push(["CPUQuotaPerSecUSec", u64(quotaPerSecUSec(cpu.quota, period || 100_000))]);
    }
    if (period) p.push(["CPUQuotaPeriodUSec", u64(period)]);
    if (cpu.cpus) p.push(["AllowedCPUs", ["ay", setToBytes(cpu.cpus, "cpuset.cpus")]]);
    if (cpu.mems) p.push(["AllowedMemoryNodes", ["ay", setToBytes(cpu.mems, "cpuset.mems")]]);
  }
  const pids = res.pids?.limit;
  if (pids !== undefined && pids !== 0) p.push(["TasksMax", u64(pids < 0 ? INFINITY : pids)]);
  const io = res.blockIO;
  if (io?.weight) p.push(["IOWeight", u64(blkioWeightToIOWeight(io.weight))]);
  if (opts.devices !== false) p.push(...deviceProperties(deviceRules(res.devices)));
  return p;
}
