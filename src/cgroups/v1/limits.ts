// Writing linux.resources into cgroup v1 controller files. One function per
// controller; each writes only what the config sets, in the order the kernel needs.

import type {
  LinuxBlockIO,
  LinuxCPU,
  LinuxHugepageLimit,
  LinuxMemory,
  LinuxNetwork,
  LinuxRdma,
} from "../../spec/types";
import { i64, u64 } from "../convert";
import { CgroupError } from "../errors";
import { hasFile, readOptional, readU64, writeFile } from "../files";
import { hugePageSizes } from "../mounts";

export type Warn = (msg: string) => void;

function isErrno(e: unknown, ...codes: string[]): e is CgroupError {
  return e instanceof CgroupError && e.code !== undefined && codes.includes(e.code);
}

export function setCpusetV1(dir: string, cpu: LinuxCPU): void {
  if (cpu.cpus) writeFile(dir, "cpuset.cpus", cpu.cpus);
  if (cpu.mems) writeFile(dir, "cpuset.mems", cpu.mems);
}

// memory.limit_in_bytes answers EBUSY when usage is already above the new limit;
// say so with the numbers, as runc does.
function setMemoryLimit(dir: string, value: string): void {
  try {
    writeFile(dir, "memory.limit_in_bytes", value);
  } catch (e) {
    if (!isErrno(e, "EBUSY")) throw e;
    const usage = readU64(dir, "memory.usage_in_bytes");
    const peak = readU64(dir, "memory.max_usage_in_bytes");
    throw new CgroupError(
      `cgroup memory.limit_in_bytes: unable to set memory limit to ${value} (current usage: ${usage}, peak usage: ${peak})`,
      "EBUSY",
    );
  }
}

function setSwapLimit(dir: string, value: string): void {
  if (!hasFile(dir, "memory.memsw.limit_in_bytes")) {
    throw new CgroupError("cgroup: memory.swap: swap accounting is not enabled in this kernel (no memory.memsw.limit_in_bytes)", "ENOENT");
  }
  writeFile(dir, "memory.memsw.limit_in_bytes", value);
}

/**
 * memsw (memory+swap) must never be below the memory limit, so which of the two is
 * written first depends on whether the limits grow or shrink.
 */
function setMemoryAndSwap(dir: string, limit: number, swap: number): void {
  // "Unlimited memory" with swap unset means unlimited memory+swap too.
  if (limit === -1 && swap === 0 && hasFile(dir, "memory.memsw.limit_in_bytes")) swap = -1;
  if (limit !== 0 && swap !== 0) {
    const current = readU64(dir, "memory.limit_in_bytes");
    if (swap === -1 || current < BigInt(i64(swap))) {
      setSwapLimit(dir, i64(swap, "memory.swap"));
      setMemoryLimit(dir, i64(limit, "memory.limit"));
      return;
    }
  }
  if (limit !== 0) setMemoryLimit(dir, i64(limit, "memory.limit"));
  if (swap !== 0) setSwapLimit(dir, i64(swap, "memory.swap"));
}

// Kernel memory accounting limits were deprecated and then dropped by newer kernels;
// a config that still carries them must keep working there.
function setKernelLimit(dir: string, file: string, value: number, field: string, warn: Warn): void {
  if (!hasFile(dir, file)) {
    warn(`cgroup: memory.${field} ignored: this kernel has no ${file}`);
    return;
  }
  const want = i64(value, `memory.${field}`);
  const before = readOptional(dir, file)?.trim();
  try {
    writeFile(dir, file, want);
  } catch (e) {
    if (!(e instanceof CgroupError)) throw e;
    warn(`cgroup: memory.${field} ignored: ${e.message}`);
    return;
  }
  // Kernels from 5.16 keep the file but accept writes as a no-op.
  const after = readOptional(dir, file)?.trim();
  if (after === before && after !== want) warn(`cgroup: memory.${field} not enforced: this kernel ignores ${file}`);
}

export function setMemoryV1(dir: string, m: LinuxMemory, warn: Warn): void {
  if (m.useHierarchy !== undefined) {
    try {
      writeFile(dir, "memory.use_hierarchy", m.useHierarchy ? "1" : "0");
    } catch (e) {
      // Kernels since 5.16 are always hierarchical and refuse "0" with EINVAL.
      if (!isErrno(e, "EINVAL", "ENOENT") || m.useHierarchy) throw e;
      warn("cgroup: memory.useHierarchy=false ignored: this kernel only supports hierarchical accounting");
    }
  }
  // Old kernels only take a kmem limit before the first task joins, which is now.
  if (m.kernel !== undefined) setKernelLimit(dir, "memory.kmem.limit_in_bytes", m.kernel, "kernel", warn);
  if (m.kernelTCP !== undefined) setKernelLimit(dir, "memory.kmem.tcp.limit_in_bytes", m.kernelTCP, "kernelTCP", warn);
  setMemoryAndSwap(dir, m.limit ?? 0, m.swap ?? 0);
  if (m.reservation !== undefined && m.reservation !== 0) {
    writeFile(dir, "memory.soft_limit_in_bytes", i64(m.reservation, "memory.reservation"));
  }
  if (m.disableOOMKiller !== undefined) writeFile(dir, "memory.oom_control", m.disableOOMKiller ? "1" : "0");
  if (m.swappiness !== undefined && m.swappiness !== -1) {
    if (!Number.isInteger(m.swappiness) || m.swappiness < 0 || m.swappiness > 100) {
      throw new CgroupError(`cgroup: invalid memory swappiness value: ${m.swappiness} (valid range is 0-100)`);
    }
    writeFile(dir, "memory.swappiness", String(m.swappiness));
  }
}

/**
 * Write `first`; if the kernel refuses it with EINVAL because the partner value is
 * still the old one, write the partner and then retry. Returns whether `first` still
 * needs the retry.
 */
function writeOrDefer(dir: string, file: string, value: string, canDefer: boolean): boolean {
  try {
    writeFile(dir, file, value);
    return false;
  } catch (e) {
    if (canDefer && isErrno(e, "EINVAL")) return true;
    throw e;
  }
}

export function setCpuV1(dir: string, cpu: LinuxCPU, warn: Warn): void {
  if (cpu.shares !== undefined && cpu.shares !== 0) {
    const want = BigInt(u64(cpu.shares, "cpu.shares"));
    writeFile(dir, "cpu.shares", want.toString());
    // The kernel clamps silently; an out-of-range request must not pass unnoticed.
    const got = readU64(dir, "cpu.shares");
    if (want > got) throw new CgroupError(`cgroup cpu.shares: the maximum allowed cpu-shares is ${got}`);
    if (want < got) throw new CgroupError(`cgroup cpu.shares: the minimum allowed cpu-shares is ${got}`);
  }
  const hasQuota = cpu.quota !== undefined && cpu.quota !== 0;
  // A shorter period can be refused while the old quota/period ratio would exceed
  // the parent's; with a quota to write, retry the period after it.
  const period = cpu.period ? u64(cpu.period, "cpu.period") : undefined;
  const periodLater = period !== undefined && writeOrDefer(dir, "cpu.cfs_period_us", period, hasQuota);
  let burstLater = false;
  const burst = cpu.burst !== undefined ? u64(cpu.burst, "cpu.burst") : undefined;
  if (burst !== undefined) {
    if (!hasFile(dir, "cpu.cfs_burst_us")) warn("cgroup: cpu.burst ignored: this kernel has no cpu.cfs_burst_us");
    else burstLater = writeOrDefer(dir, "cpu.cfs_burst_us", burst, hasQuota);
  }
  if (hasQuota) {
    writeFile(dir, "cpu.cfs_quota_us", i64(cpu.quota!, "cpu.quota"));
    if (periodLater) writeFile(dir, "cpu.cfs_period_us", period!);
    if (burstLater) writeFile(dir, "cpu.cfs_burst_us", burst!);
  }
  if (cpu.idle !== undefined) {
    if (!hasFile(dir, "cpu.idle")) {
      if (cpu.idle !== 0) warn("cgroup: cpu.idle ignored: this kernel has no cpu.idle");
    } else writeFile(dir, "cpu.idle", i64(cpu.idle, "cpu.idle"));
  }
  setRealtimeV1(dir, cpu);
}

/**
 * rt_period and rt_runtime constrain each other (runtime <= period, and the sum of
 * children's runtime/period <= the parent's), so the same defer-and-retry applies.
 */
export function setRealtimeV1(dir: string, cpu: LinuxCPU): void {
  const runtime = cpu.realtimeRuntime;
  const hasRuntime = runtime !== undefined && runtime !== 0;
  const period = cpu.realtimePeriod ? u64(cpu.realtimePeriod, "cpu.realtimePeriod") : undefined;
  if ((period !== undefined || hasRuntime) && !hasFile(dir, "cpu.rt_runtime_us")) {
    throw new CgroupError("cgroup: cpu.realtimeRuntime/realtimePeriod: this kernel has no real-time group scheduling (cpu.rt_runtime_us)");
  }
  const periodLater = period !== undefined && writeOrDefer(dir, "cpu.rt_period_us", period, hasRuntime);
  if (hasRuntime) {
    writeFile(dir, "cpu.rt_runtime_us", i64(runtime, "cpu.realtimeRuntime"));
    if (periodLater) writeFile(dir, "cpu.rt_period_us", period!);
  }
}

export function setPidsV1(dir: string, limit: number): void {
  // 0 is "unset" in runc's reading of the spec; any negative value is unlimited.
  if (limit === 0) return;
  writeFile(dir, "pids.max", limit > 0 ? i64(limit, "pids.limit") : "max");
}

const dev = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

export function setBlkioV1(dir: string, b: LinuxBlockIO): void {
  // CFQ's files when that scheduler exists, BFQ's otherwise (blk-mq kernels).
  const cfq = hasFile(dir, "blkio.weight");
  const weightFile = cfq ? "blkio.weight" : "blkio.bfq.weight";
  const weightDeviceFile = cfq ? "blkio.weight_device" : "blkio.bfq.weight_device";
  const needWeight = !!b.weight || (b.weightDevice ?? []).some((w) => !!w.weight);
  if (needWeight && !hasFile(dir, weightFile)) {
    throw new CgroupError("cgroup: blockIO.weight: this kernel has no blkio.weight or blkio.bfq.weight (no CFQ or BFQ I/O scheduler)", "ENOENT");
  }
  if (b.weight) writeFile(dir, weightFile, String(b.weight));
  if (b.leafWeight) writeFile(dir, "blkio.leaf_weight", String(b.leafWeight));
  for (const wd of b.weightDevice ?? []) {
    if (wd.weight) writeFile(dir, weightDeviceFile, `${dev(wd)} ${wd.weight}`);
    if (wd.leafWeight) writeFile(dir, "blkio.leaf_weight_device", `${dev(wd)} ${wd.leafWeight}`);
  }
  const throttles: [string, typeof b.throttleReadBpsDevice][] = [
    ["blkio.throttle.read_bps_device", b.throttleReadBpsDevice],
    ["blkio.throttle.write_bps_device", b.throttleWriteBpsDevice],
    ["blkio.throttle.read_iops_device", b.throttleReadIOPSDevice],
    ["blkio.throttle.write_iops_device", b.throttleWriteIOPSDevice],
  ];
  for (const [file, list] of throttles) {
    for (const td of list ?? []) writeFile(dir, file, `${dev(td)} ${u64(td.rate ?? 0, "blockIO throttle rate")}`);
  }
}

/** Refuse a page size the kernel does not have, naming the ones it does. */
export function checkPageSize(pageSize: string, present: boolean): void {
  if (present) return;
  const have = hugePageSizes();
  throw new CgroupError(
    `cgroup: hugepageLimits: page size ${pageSize} is not supported by this kernel (supported: ${have.join(", ") || "none"})`,
    "ENOENT",
  );
}

export function setHugetlbV1(dir: string, limits: readonly LinuxHugepageLimit[]): void {
  for (const l of limits) {
    const file = `hugetlb.${l.pageSize}.limit_in_bytes`;
    checkPageSize(l.pageSize, hasFile(dir, file));
    const value = u64(l.limit, "hugepageLimits.limit");
    writeFile(dir, file, value);
    // Reservations are accounted separately since 5.7; limit both the same.
    const rsvd = `hugetlb.${l.pageSize}.rsvd.limit_in_bytes`;
    if (hasFile(dir, rsvd)) writeFile(dir, rsvd, value);
  }
}

export function setNetClsV1(dir: string, classID: number): void {
  writeFile(dir, "net_cls.classid", String(classID));
}

export function setNetPrioV1(dir: string, n: LinuxNetwork): void {
  for (const p of n.priorities ?? []) writeFile(dir, "net_prio.ifpriomap", `${p.name} ${p.priority}`);
}

/** rdma.max lines are shared by v1 and v2: "mlx4_0 hca_handle=2 hca_object=2000". */
export function setRdma(dir: string, rdma: Record<string, LinuxRdma | undefined>): void {
  for (const [device, l] of Object.entries(rdma)) {
    if (!l) continue;
    let line = device;
    if (l.hcaHandles !== undefined) line += ` hca_handle=${l.hcaHandles}`;
    if (l.hcaObjects !== undefined) line += ` hca_object=${l.hcaObjects}`;
    writeFile(dir, "rdma.max", line);
  }
}
