// Reading cgroup v2 accounting into runc's stats shape (the same fields engines read
// on v1, filled from the v2 files as runc's fs2 driver fills them).

import { MAX_U64, readKeyValues, readOptional, readProcs, readU64Optional } from "../files";
import { hugePageSizes } from "../mounts";
import { type BlkioEntry, parseCpuList, type Stats } from "../stats";

export function pidsStatsV2(dir: string, s: Stats): void {
  const current = readU64Optional(dir, "pids.current");
  if (current === undefined) {
    // Without the pids controller, count the members.
    s.pids.current = BigInt(readProcs(dir).length);
    s.pids.limit = 0n;
    return;
  }
  s.pids.current = current;
  const max = readU64Optional(dir, "pids.max") ?? MAX_U64;
  s.pids.limit = max === MAX_U64 ? 0n : max;
}

export function memoryStatsV2(dir: string, s: Stats): void {
  const kv = readKeyValues(dir, "memory.stat");
  if (!kv) return;
  for (const [k, v] of kv) s.memory.raw[k] = v;
  s.memory.cache = kv.get("file") ?? 0n;
  const usage = readU64Optional(dir, "memory.current") ?? 0n;
  const limit = readU64Optional(dir, "memory.max") ?? MAX_U64;
  s.memory.usage = { usage, limit, max: readU64Optional(dir, "memory.peak") ?? 0n, failcnt: 0n };
  const swapUsage = readU64Optional(dir, "memory.swap.current");
  if (swapUsage !== undefined) {
    // Reported as memory+swap, the v1 memsw meaning engines expect.
    const swapLimit = readU64Optional(dir, "memory.swap.max") ?? MAX_U64;
    const total = swapLimit === MAX_U64 || limit === MAX_U64 ? MAX_U64 : swapLimit + limit;
    s.memory.swap = { usage: swapUsage + usage, limit: total > MAX_U64 ? MAX_U64 : total, max: 0n, failcnt: 0n };
  }
  const events = readKeyValues(dir, "memory.events");
  if (events) s.memory.usage.failcnt = events.get("max") ?? 0n;
}

export function ioStatsV2(dir: string, s: Stats): void {
  const text = readOptional(dir, "io.stat");
  if (text === undefined) return;
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const [device, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(device ?? "");
    if (!m) continue;
    const major = BigInt(m[1]!);
    const minor = BigInt(m[2]!);
    for (const f of fields) {
      const [k, v] = f.split("=");
      if (!v || !/^\d+$/.test(v)) continue;
      const value = BigInt(v);
      if (k === "rbytes") bytes.push({ major, minor, op: "Read", value });
      else if (k === "wbytes") bytes.push({ major, minor, op: "Write", value });
      else if (k === "rios") ios.push({ major, minor, op: "Read", value });
      else if (k === "wios") ios.push({ major, minor, op: "Write", value });
    }
  }
  s.blkio.ioServiceBytesRecursive = bytes;
  s.blkio.ioServicedRecursive = ios;
}

export function cpuStatsV2(dir: string, s: Stats): void {
  const kv = readKeyValues(dir, "cpu.stat");
  if (!kv) return;
  const us = (k: string) => (kv.get(k) ?? 0n) * 1000n;
  s.cpu.usage.total = us("usage_usec");
  s.cpu.usage.user = us("user_usec");
  s.cpu.usage.kernel = us("system_usec");
  s.cpu.throttling.periods = kv.get("nr_periods") ?? 0n;
  s.cpu.throttling.throttledPeriods = kv.get("nr_throttled") ?? 0n;
  s.cpu.throttling.throttledTime = us("throttled_usec");
}

export function cpusetStatsV2(dir: string, s: Stats): void {
  const cpus = readOptional(dir, "cpuset.cpus.effective");
  if (cpus !== undefined) s.cpuset.cpus = parseCpuList(cpus);
  const mems = readOptional(dir, "cpuset.mems.effective");
  if (mems !== undefined) s.cpuset.mems = parseCpuList(mems);
}

export function hugetlbStatsV2(dir: string, s: Stats): void {
  for (const size of hugePageSizes()) {
    const usage = readU64Optional(dir, `hugetlb.${size}.current`);
    if (usage === undefined) continue;
    const events = readKeyValues(dir, `hugetlb.${size}.events`);
    s.hugetlb[size] = { usage, max: 0n, failcnt: events?.get("max") ?? 0n };
  }
}

export function statsV2(dir: string, s: Stats): void {
  pidsStatsV2(dir, s);
  memoryStatsV2(dir, s);
  ioStatsV2(dir, s);
  cpuStatsV2(dir, s);
  cpusetStatsV2(dir, s);
  hugetlbStatsV2(dir, s);
}
