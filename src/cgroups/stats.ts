// The "data" object of `runc events --stats`, field for field (runc's types/events.go),
// because engines decode it with those Go structs. Counters are 64-bit unsigned and
// "unlimited" is 2^64-1, beyond a double's exact range, so they are bigints here and
// statsEvent() prints them as exact JSON integers.

export interface CpuUsage {
  total: bigint;
  percpu: bigint[];
  percpu_kernel: bigint[];
  percpu_user: bigint[];
  kernel: bigint;
  user: bigint;
}

export interface Throttling {
  periods: bigint;
  throttledPeriods: bigint;
  throttledTime: bigint;
}

export interface CPUSetStats {
  cpus: number[];
  cpu_exclusive: bigint;
  mems: number[];
  mem_hardwall: bigint;
  mem_exclusive: bigint;
  memory_migrate: bigint;
  memory_spread_page: bigint;
  memory_spread_slab: bigint;
  memory_pressure: bigint;
  sched_load_balance: bigint;
  sched_relax_domain_level: bigint;
}

export interface MemoryEntry {
  limit: bigint;
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface MemoryStats {
  cache: bigint;
  usage: MemoryEntry;
  swap: MemoryEntry;
  kernel: MemoryEntry;
  kernelTCP: MemoryEntry;
  raw: Record<string, bigint>;
}

export interface BlkioEntry {
  major: bigint;
  minor: bigint;
  op: string;
  value: bigint;
}

export interface BlkioStats {
  ioServiceBytesRecursive: BlkioEntry[];
  ioServicedRecursive: BlkioEntry[];
  ioQueueRecursive: BlkioEntry[];
  ioServiceTimeRecursive: BlkioEntry[];
  ioWaitTimeRecursive: BlkioEntry[];
  ioMergedRecursive: BlkioEntry[];
  ioTimeRecursive: BlkioEntry[];
  sectorsRecursive: BlkioEntry[];
}

export interface HugetlbStats {
  usage: bigint;
  max: bigint;
  failcnt: bigint;
}

export interface Stats {
  cpu: { usage: CpuUsage; throttling: Throttling };
  cpuset: CPUSetStats;
  memory: MemoryStats;
  pids: { current: bigint; limit: bigint };
  blkio: BlkioStats;
  hugetlb: Record<string, HugetlbStats>;
  intel_rdt: Record<string, never>;
  network_interfaces: null;
}

export const emptyMemoryEntry = (): MemoryEntry => ({ limit: 0n, usage: 0n, max: 0n, failcnt: 0n });

export function emptyStats(): Stats {
  return {
    cpu: {
      usage: { total: 0n, percpu: [], percpu_kernel: [], percpu_user: [], kernel: 0n, user: 0n },
      throttling: { periods: 0n, throttledPeriods: 0n, throttledTime: 0n },
    },
    cpuset: {
      cpus: [],
      cpu_exclusive: 0n,
      mems: [],
      mem_hardwall: 0n,
      mem_exclusive: 0n,
      memory_migrate: 0n,
      memory_spread_page: 0n,
      memory_spread_slab: 0n,
      memory_pressure: 0n,
      sched_load_balance: 0n,
      sched_relax_domain_level: 0n,
    },
    memory: {
      cache: 0n,
      usage: emptyMemoryEntry(),
      swap: emptyMemoryEntry(),
      kernel: emptyMemoryEntry(),
      kernelTCP: emptyMemoryEntry(),
      raw: {},
    },
    pids: { current: 0n, limit: 0n },
    blkio: {
      ioServiceBytesRecursive: [],
      ioServicedRecursive: [],
      ioQueueRecursive: [],
      ioServiceTimeRecursive: [],
      ioWaitTimeRecursive: [],
      ioMergedRecursive: [],
      ioTimeRecursive: [],
      sectorsRecursive: [],
    },
    hugetlb: {},
    intel_rdt: {},
    network_interfaces: null,
  };
}

/** Parse a cpuset list ("0-3,8") into its members. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  for (const part of text.trim().split(",")) {
    if (part === "") continue;
    const [a, b, extra] = part.split("-");
    if (extra !== undefined) continue;
    const lo = Number.parseInt(a!, 10);
    const hi = b === undefined ? lo : Number.parseInt(b, 10);
    if (Number.isNaN(lo) || Number.isNaN(hi) || lo > hi) continue;
    for (let i = lo; i <= hi; i++) out.push(i);
  }
  return out;
}

// Keys runc tags `omitempty`: Go drops them when zero or empty, so runc's output never
// carries them then; the remaining zero fields are always present.
const OMIT_WHEN_EMPTY = new Set([
  "total",
  "percpu",
  "percpu_kernel",
  "percpu_user",
  "periods",
  "throttledPeriods",
  "throttledTime",
  "cpus",
  "mems",
  "cache",
  "usage",
  "max",
  "raw",
  "current",
  "major",
  "minor",
  "op",
  "value",
  "ioServiceBytesRecursive",
  "ioServicedRecursive",
  "ioQueueRecursive",
  "ioServiceTimeRecursive",
  "ioWaitTimeRecursive",
  "ioMergedRecursive",
  "ioTimeRecursive",
  "sectorsRecursive",
]);

// Keys whose value is a Go struct: omitempty never drops those.
const STRUCT_KEYS = new Set(["usage", "swap", "kernel", "kernelTCP", "throttling"]);

function isEmpty(v: unknown): boolean {
  if (v === 0n || v === 0 || v === "") return true;
  if (Array.isArray(v)) return v.length === 0;
  if (v !== null && typeof v === "object") return Object.keys(v).length === 0;
  return false;
}

function toJSON(v: unknown, key = ""): string {
  if (typeof v === "bigint") return v.toString();
  if (Array.isArray(v)) return `[${v.map((x) => toJSON(x)).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const parts: string[] = [];
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      const struct = x !== null && typeof x === "object" && !Array.isArray(x) && STRUCT_KEYS.has(k);
      // pids.limit is omitempty; memory entries' "limit" is not.
      const omittable = OMIT_WHEN_EMPTY.has(k) || (key === "pids" && k === "limit");
      if (!struct && omittable && isEmpty(x)) continue;
      parts.push(`${JSON.stringify(k)}:${toJSON(x, k)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(v);
}

/** The stats as runc prints them inside an event: exact integers, runc's omissions. */
export function statsJSON(s: Stats): string {
  return toJSON(s);
}

/** One `events --stats` line: {"type":"stats","id":ID,"data":{...}}. */
export function statsEvent(id: string, s: Stats): string {
  return `{"type":"stats","id":${JSON.stringify(id)},"data":${statsJSON(s)}}`;
}
