// Reading cgroup v1 accounting into runc's stats shape. A controller that is not
// mounted, or a file an older or newer kernel lacks, leaves its fields at zero.

import { readKeyValues, readOptional, readU64Optional } from "../files";
import { hugePageSizes } from "../mounts";
import { type BlkioEntry, type MemoryEntry, parseCpuList, type Stats } from "../stats";

const NS_PER_TICK = 10_000_000n; // cpuacct.stat counts USER_HZ (100) ticks

export function cpuStatsV1(cpuDir: string | undefined, acctDir: string | undefined, s: Stats): void {
  if (cpuDir) {
    const kv = readKeyValues(cpuDir, "cpu.stat");
    if (kv) {
      s.cpu.throttling.periods = kv.get("nr_periods") ?? 0n;
      s.cpu.throttling.throttledPeriods = kv.get("nr_throttled") ?? 0n;
      s.cpu.throttling.throttledTime = kv.get("throttled_time") ?? 0n;
    }
  }
  if (!acctDir) return;
  const usage = s.cpu.usage;
  const stat = readKeyValues(acctDir, "cpuacct.stat");
  if (stat) {
    usage.user = (stat.get("user") ?? 0n) * NS_PER_TICK;
    usage.kernel = (stat.get("system") ?? 0n) * NS_PER_TICK;
  }
  usage.total = readU64Optional(acctDir, "cpuacct.usage") ?? 0n;
  const percpu = readOptional(acctDir, "cpuacct.usage_percpu");
  if (percpu !== undefined) usage.percpu = percpu.trim().split(/\s+/).filter(Boolean).map(BigInt);
  // "cpu user system" header, then one line per cpu.
  const all = readOptional(acctDir, "cpuacct.usage_all");
  if (all !== undefined) {
    for (const line of all.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length !== 3 || !/^\d+$/.test(f[1]!) || !/^\d+$/.test(f[2]!)) continue;
      usage.percpu_user.push(BigInt(f[1]!));
      usage.percpu_kernel.push(BigInt(f[2]!));
    }
  }
}

export function cpusetStatsV1(dir: string, s: Stats): void {
  const c = s.cpuset;
  const cpus = readOptional(dir, "cpuset.cpus");
  if (cpus !== undefined) c.cpus = parseCpuList(cpus);
  const mems = readOptional(dir, "cpuset.mems");
  if (mems !== undefined) c.mems = parseCpuList(mems);
  const u = (file: string) => readU64Optional(dir, file) ?? 0n;
  c.cpu_exclusive = u("cpuset.cpu_exclusive");
  c.mem_hardwall = u("cpuset.mem_hardwall");
  c.mem_exclusive = u("cpuset.mem_exclusive");
  c.memory_migrate = u("cpuset.memory_migrate");
  c.memory_spread_page = u("cpuset.memory_spread_page");
  c.memory_spread_slab = u("cpuset.memory_spread_slab");
  c.memory_pressure = u("cpuset.memory_pressure");
  c.sched_load_balance = u("cpuset.sched_load_balance");
  const level = readOptional(dir, "cpuset.sched_relax_domain_level");
  if (level !== undefined && /^-?\d+$/.test(level.trim())) c.sched_relax_domain_level = BigInt(level.trim());
}

function memoryEntry(dir: string, prefix: string): MemoryEntry {
  const u = (suffix: string) => readU64Optional(dir, `${prefix}.${suffix}`) ?? 0n;
  return { usage: u("usage_in_bytes"), max: u("max_usage_in_bytes"), failcnt: u("failcnt"), limit: u("limit_in_bytes") };
}

export function memoryStatsV1(dir: string, s: Stats): void {
  const kv = readKeyValues(dir, "memory.stat");
  if (!kv) return;
  for (const [k, v] of kv) s.memory.raw[k] = v;
  s.memory.cache = kv.get("cache") ?? 0n;
  s.memory.usage = memoryEntry(dir, "memory");
  s.memory.swap = memoryEntry(dir, "memory.memsw");
  s.memory.kernel = memoryEntry(dir, "memory.kmem");
  s.memory.kernelTCP = memoryEntry(dir, "memory.kmem.tcp");
}

export function pidsStatsV1(dir: string, s: Stats): void {
  s.pids.current = readU64Optional(dir, "pids.current") ?? 0n;
  const max = readOptional(dir, "pids.max");
  // "max" is reported as 0, runc's "no limit".
  s.pids.limit = max === undefined || max.trim() === "max" ? 0n : BigInt(max.trim());
}

/** "8:0 Read 1024" lines (or "8:0 1024"); the trailing "Total N" line is skipped. */
export function parseBlkioStat(text: string): BlkioEntry[] {
  const out: BlkioEntry[] = [];
  for (const line of text.split("\n")) {
    const f = line.trim().split(/[\s:]+/).filter(Boolean);
    if (f.length < 3 || !/^\d+$/.test(f[0]!) || !/^\d+$/.test(f[1]!)) continue;
    const op = f.length >= 4 ? f[2]! : "";
    const value = f.length >= 4 ? f[3]! : f[2]!;
    if (!/^\d+$/.test(value)) continue;
    out.push({ major: BigInt(f[0]!), minor: BigInt(f[1]!), op, value: BigInt(value) });
  }
  return out;
}

type BlkioKey = keyof Stats["blkio"];

// The first family whose first file has data wins, as in runc: BFQ with debug
// files, BFQ, CFQ, then the throttle layer that is always there.
const BLKIO_FAMILIES: [string, BlkioKey][][] = [
  [
    ["blkio.bfq.sectors_recursive", "sectorsRecursive"],
    ["blkio.bfq.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.bfq.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.bfq.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.bfq.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.bfq.time_recursive", "ioTimeRecursive"],
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.bfq.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.bfq.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.sectors_recursive", "sectorsRecursive"],
    ["blkio.io_service_time_recursive", "ioServiceTimeRecursive"],
    ["blkio.io_wait_time_recursive", "ioWaitTimeRecursive"],
    ["blkio.io_merged_recursive", "ioMergedRecursive"],
    ["blkio.io_queued_recursive", "ioQueueRecursive"],
    ["blkio.time_recursive", "ioTimeRecursive"],
    ["blkio.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced_recursive", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes_recursive", "ioServiceBytesRecursive"],
  ],
  [
    ["blkio.throttle.io_serviced", "ioServicedRecursive"],
    ["blkio.throttle.io_service_bytes", "ioServiceBytesRecursive"],
  ],
];

export function blkioStatsV1(dir: string, s: Stats): void {
  for (const family of BLKIO_FAMILIES) {
    const first = readOptional(dir, family[0]![0]);
    if (first === undefined || parseBlkioStat(first).length === 0) continue;
    for (const [file, key] of family) {
      const text = readOptional(dir, file);
      if (text !== undefined) s.blkio[key] = parseBlkioStat(text);
    }
    return;
  }
}

export function hugetlbStatsV1(dir: string, s: Stats): void {
  for (const size of hugePageSizes()) {
    const u = (suffix: string) => readU64Optional(dir, `hugetlb.${size}.${suffix}`);
    const usage = u("usage_in_bytes");
    if (usage === undefined) continue;
    s.hugetlb[size] = { usage, max: u("max_usage_in_bytes") ?? 0n, failcnt: u("failcnt") ?? 0n };
  }
}
