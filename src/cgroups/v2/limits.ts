// Writing linux.resources into a cgroup v2 directory. The spec's resources are shaped
// after v1; each field is translated to its v2 file, and fields v2 has no file for are
// reported through `warn` instead of failing the container.

import type { LinuxBlockIO, LinuxCPU, LinuxHugepageLimit, LinuxMemory, LinuxResources } from "../../spec/types";
import { blkioWeightToIOWeight, i64, sharesToWeight, swapToV2, u64 } from "../convert";
import { CgroupError, unifiedKeyError } from "../errors";
import { hasFile, readOptional, readU64, writeFile } from "../files";
import { checkPageSize, setRdma, type Warn } from "../v1/limits";

/** Controllers usable in `dir` (its cgroup.controllers). */
export function controllersOf(dir: string): Set<string> {
  const text = readOptional(dir, "cgroup.controllers") ?? "";
  return new Set(text.split(/\s+/).filter(Boolean));
}

function need(controllers: Set<string>, controller: string, field: string, dir: string): void {
  if (!controllers.has(controller)) {
    throw new CgroupError(`cgroup: ${field}: the ${controller} controller is not available in ${dir}`, "ENOENT");
  }
}

/** -1 is "max" in the spec's signed fields. */
const signed = (n: number, what: string) => (n === -1 ? "max" : i64(n, what));

function isEinval(e: unknown): boolean {
  return e instanceof CgroupError && e.code === "EINVAL";
}

export function setPidsV2(dir: string, limit: number): void {
  if (limit === 0) return;
  writeFile(dir, "pids.max", limit > 0 ? i64(limit, "pids.limit") : "max");
}

export function setMemoryV2(dir: string, m: LinuxMemory, warn: Warn): void {
  if (m.kernel !== undefined) warn("cgroup: memory.kernel ignored: cgroup v2 has no kernel memory limit");
  if (m.kernelTCP !== undefined) warn("cgroup: memory.kernelTCP ignored: cgroup v2 has no kernel TCP memory limit");
  if (m.swappiness !== undefined) warn("cgroup: memory.swappiness ignored: cgroup v2 has no per-cgroup swappiness");
  if (m.disableOOMKiller) warn("cgroup: memory.disableOOMKiller ignored: cgroup v2 cannot disable the OOM killer");
  if (m.useHierarchy === false) warn("cgroup: memory.useHierarchy=false ignored: cgroup v2 is always hierarchical");

  const limit = m.limit ?? 0;
  if (m.checkBeforeUpdate && limit > 0) {
    const current = readU64(dir, "memory.current");
    if (BigInt(i64(limit)) < current) {
      throw new CgroupError(`cgroup memory.max: unable to set memory limit to ${limit} (current usage ${current} is above it)`, "EBUSY");
    }
  }
  const swap = swapToV2(m.swap, m.limit);
  if (swap !== undefined) {
    if (hasFile(dir, "memory.swap.max")) writeFile(dir, "memory.swap.max", swap);
    else if (swap !== "max") {
      throw new CgroupError("cgroup: memory.swap: swap accounting is not enabled in this kernel (no memory.swap.max)", "ENOENT");
    }
  }
  if (limit !== 0) writeFile(dir, "memory.max", signed(limit, "memory.limit"));
  if (m.reservation !== undefined && m.reservation !== 0) {
    writeFile(dir, "memory.low", signed(m.reservation, "memory.reservation"));
  }
}

// io.bfq.weight takes "major:minor weight" lines only on kernels where reading it
// shows "default N" rather than a bare number.
function bfqPerDevice(dir: string): boolean {
  const text = readOptional(dir, "io.bfq.weight");
  return text !== undefined && !/^\s*\d+\s*$/.test(text);
}

const dev = (d: { major: number; minor: number }) => `${d.major}:${d.minor}`;

export function setIoV2(dir: string, b: LinuxBlockIO, warn: Warn): void {
  if (b.leafWeight || (b.weightDevice ?? []).some((w) => w.leafWeight)) {
    warn("cgroup: blockIO leafWeight ignored: cgroup v2 has no leaf weights");
  }
  const bfq = hasFile(dir, "io.bfq.weight");
  if (b.weight) {
    // BFQ takes the blkio scale as is; io.weight has its own 1..10000 scale.
    if (bfq) writeFile(dir, "io.bfq.weight", String(b.weight));
    else writeFile(dir, "io.weight", String(blkioWeightToIOWeight(b.weight)));
  }
  const perDevice = (b.weightDevice ?? []).filter((w) => w.weight);
  if (perDevice.length) {
    const useBfq = bfq && bfqPerDevice(dir);
    for (const wd of perDevice) {
      if (useBfq) writeFile(dir, "io.bfq.weight", `${dev(wd)} ${wd.weight}`);
      else writeFile(dir, "io.weight", `${dev(wd)} ${blkioWeightToIOWeight(wd.weight!)}`);
    }
  }
  const throttles: [string, typeof b.throttleReadBpsDevice][] = [
    ["rbps", b.throttleReadBpsDevice],
    ["wbps", b.throttleWriteBpsDevice],
    ["riops", b.throttleReadIOPSDevice],
    ["wiops", b.throttleWriteIOPSDevice],
  ];
  for (const [key, list] of throttles) {
    for (const td of list ?? []) writeFile(dir, "io.max", `${dev(td)} ${key}=${u64(td.rate ?? 0, "blockIO throttle rate")}`);
  }
}

export function setCpuV2(dir: string, cpu: LinuxCPU, warn: Warn): void {
  if (cpu.realtimePeriod || cpu.realtimeRuntime) {
    warn("cgroup: cpu.realtimePeriod/realtimeRuntime ignored: cgroup v2 has no real-time group scheduling");
  }
  if (cpu.idle !== undefined) writeFile(dir, "cpu.idle", i64(cpu.idle, "cpu.idle"));
  if (cpu.shares) writeFile(dir, "cpu.weight", String(sharesToWeight(cpu.shares)));
  const hasMax = !!cpu.quota || !!cpu.period;
  let burstLater: string | undefined;
  if (cpu.burst !== undefined) {
    const burst = u64(cpu.burst, "cpu.burst");
    try {
      writeFile(dir, "cpu.max.burst", burst);
    } catch (e) {
      // A burst above the old quota is refused; it fits once cpu.max is written.
      if (!isEinval(e) || !hasMax) throw e;
      burstLater = burst;
    }
  }
  if (hasMax) {
    const quota = cpu.quota && cpu.quota > 0 ? i64(cpu.quota, "cpu.quota") : "max";
    const period = cpu.period ? u64(cpu.period, "cpu.period") : "100000";
    writeFile(dir, "cpu.max", `${quota} ${period}`);
    if (burstLater !== undefined) writeFile(dir, "cpu.max.burst", burstLater);
  }
}

export function setCpusetV2(dir: string, cpu: LinuxCPU): void {
  if (cpu.cpus) writeFile(dir, "cpuset.cpus", cpu.cpus);
  if (cpu.mems) writeFile(dir, "cpuset.mems", cpu.mems);
}

export function setHugetlbV2(dir: string, limits: readonly LinuxHugepageLimit[]): void {
  for (const l of limits) {
    const file = `hugetlb.${l.pageSize}.max`;
    checkPageSize(l.pageSize, hasFile(dir, file));
    const value = u64(l.limit, "hugepageLimits.limit");
    writeFile(dir, file, value);
    const rsvd = `hugetlb.${l.pageSize}.rsvd.max`;
    if (hasFile(dir, rsvd)) writeFile(dir, rsvd, value);
  }
}

export function setUnified(dir: string, unified: Record<string, string>, controllers: Set<string>): void {
  for (const [key, value] of Object.entries(unified)) {
    if (key.includes("/") || key === "." || key === "..") {
      throw unifiedKeyError(key, "path");
    }
    try {
      writeFile(dir, key, value);
    } catch (e) {
      if (e instanceof CgroupError && (e.code === "ENOENT" || e.code === "EACCES" || e.code === "EPERM")) {
        const dot = key.indexOf(".");
        if (dot <= 0) throw unifiedKeyError(key, "form");
        const c = key.slice(0, dot);
        if (c !== "cgroup" && !controllers.has(c)) {
          throw new CgroupError(`cgroup: unified resource ${JSON.stringify(key)} can't be set: controller ${JSON.stringify(c)} not available`, e.code);
        }
      }
      throw e;
    }
  }
}

/**
 * Everything except devices, in runc's order: pids, memory, io, cpu, cpuset, hugetlb,
 * rdma, then `unified` last so its raw values win over translated ones.
 */
export function setV2Resources(dir: string, r: LinuxResources, warn: Warn): void {
  const controllers = controllersOf(dir);
  if (r.network && (r.network.classID !== undefined || r.network.priorities?.length)) {
    warn("cgroup: network.classID/priorities ignored: cgroup v2 has no net_cls or net_prio controller");
  }
  if (r.pids && r.pids.limit !== 0) {
    need(controllers, "pids", "pids.limit", dir);
    setPidsV2(dir, r.pids.limit);
  }
  const m = r.memory;
  if (m && (m.limit || m.swap || m.reservation)) need(controllers, "memory", "memory", dir);
  if (m) setMemoryV2(dir, m, warn);
  const b = r.blockIO;
  if (b) {
    const writes =
      !!b.weight ||
      (b.weightDevice ?? []).some((w) => w.weight) ||
      [b.throttleReadBpsDevice, b.throttleWriteBpsDevice, b.throttleReadIOPSDevice, b.throttleWriteIOPSDevice].some((l) => l?.length);
    if (writes) need(controllers, "io", "blockIO", dir);
    setIoV2(dir, b, warn);
  }
  const cpu = r.cpu;
  if (cpu) {
    if (cpu.shares || cpu.quota || cpu.period || cpu.burst !== undefined || cpu.idle !== undefined) need(controllers, "cpu", "cpu", dir);
    setCpuV2(dir, cpu, warn);
    if (cpu.cpus || cpu.mems) {
      need(controllers, "cpuset", "cpu.cpus/mems", dir);
      setCpusetV2(dir, cpu);
    }
  }
  if (r.hugepageLimits?.length) {
    need(controllers, "hugetlb", "hugepageLimits", dir);
    setHugetlbV2(dir, r.hugepageLimits);
  }
  if (r.rdma && Object.keys(r.rdma).length) {
    need(controllers, "rdma", "rdma", dir);
    setRdma(dir, r.rdma);
  }
  if (r.unified) setUnified(dir, r.unified, controllers);
}
