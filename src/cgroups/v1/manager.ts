// cgroup v1: one directory per hierarchy. `paths` maps each controller (and the
// named "name=systemd" hierarchy, and "" for a hybrid host's unified hierarchy) to
// the container's directory in it.

import { existsSync, mkdirSync, statfsSync } from "node:fs";
import { dirname } from "node:path";
import type { LinuxResources } from "../../spec/types";
import { applyDevicesV1, deviceRules } from "../devices";
import { CgroupError, errnoCode, sysError } from "../errors";
import {
  isDir,
  mkdirAll,
  readFile,
  readOptional,
  sleep,
  writeFile,
  writeProc,
} from "../files";
import { type CgroupJoin, type CgroupManager, signalAll } from "../manager";
import { destroyV1, isOptionalV1, pidsV1, thawV1 } from "../teardown";
import { cgroupDirInMount, cgroupMounts, HYBRID_KEY, mountHolding, procCgroups, unifiedMountOf } from "../mounts";
import { emptyStats, type Stats } from "../stats";
import { createV2Path } from "../v2/create";
import { controllersOf, setHugetlbV2 } from "../v2/limits";
import { hugetlbStatsV2 } from "../v2/stats";
import {
  setBlkioV1,
  setCpusetV1,
  setCpuV1,
  setHugetlbV1,
  setMemoryV1,
  setNetClsV1,
  setNetPrioV1,
  setPidsV1,
  setRdma,
  type Warn,
} from "./limits";
import { blkioStatsV1, cpusetStatsV1, cpuStatsV1, hugetlbStatsV1, memoryStatsV1, pidsStatsV1 } from "./stats";

const CGROUP_SUPER_MAGIC = 0x27e0eb;

function isCgroupV1Dir(path: string): boolean {
  try {
    return Number(statfsSync(path).type) === CGROUP_SUPER_MAGIC;
  } catch (e) {
    // Not there yet: it is a cgroup to be, the walk goes on upwards.
    if (errnoCode(e) === "ENOENT") return true;
    throw sysError(path, "statfs", e);
  }
}

function isEmptyList(text: string | undefined): boolean {
  return text === undefined || text.trim() === "";
}

/**
 * A new v1 cpuset starts with empty cpus and mems and refuses tasks until both are
 * set, unless the parent has clone_children. Copy them down from the nearest
 * populated ancestor, every level from the mount to `dir`.
 */
export function ensureCpusetDir(dir: string): void {
  const parent = dirname(dir);
  if (parent === dir || !isCgroupV1Dir(parent)) return; // dir is the hierarchy's root
  ensureCpusetDir(parent);
  try {
    mkdirSync(dir, { mode: 0o755 });
  } catch (e) {
    if (errnoCode(e) !== "EEXIST") throw sysError(dir, "mkdir", e);
  }
  for (const file of ["cpuset.cpus", "cpuset.mems"]) {
    if (isEmptyList(readOptional(dir, file))) writeFile(dir, file, readFile(parent, file).trim());
  }
}


export class V1Manager implements CgroupManager {
  readonly version = 1 as const;
  readonly paths: Record<string, string>;

  constructor(paths: Record<string, string>) {
    this.paths = { ...paths };
  }

  private dir(key: string, field: string): string {
    const d = this.paths[key];
    if (!d) throw new CgroupError(`cgroup: ${field}: the ${key} controller is not mounted`, "ENOENT");
    return d;
  }

  create(): void {
    for (const [key, path] of Object.entries(this.paths)) {
      try {
        if (key === "cpuset") ensureCpusetDir(path);
        else mkdirAll(path);
      } catch (e) {
        if (!isOptionalV1(key)) throw e;
      }
    }
  }

  apply(r: LinuxResources | undefined, warn: Warn, opts: { devices?: boolean } = {}): void {
    const res = r ?? {};
    if (res.unified && Object.keys(res.unified).length > 0) {
      throw new CgroupError("cgroup: invalid configuration: cannot use linux.resources.unified on cgroup v1");
    }
    const cpu = res.cpu;
    if (cpu && (cpu.cpus || cpu.mems)) setCpusetV1(this.dir("cpuset", "cpu.cpus/mems"), cpu);
    // The allowlist is applied even without a devices section: a container never
    // inherits the host's full device access.
    if (opts.devices !== false) applyDevicesV1(this.dir("devices", "devices"), deviceRules(res.devices));
    if (res.memory) setMemoryV1(this.dir("memory", "memory"), res.memory, warn);
    if (cpu) {
      const used =
        cpu.shares || cpu.quota || cpu.period || cpu.burst !== undefined || cpu.idle !== undefined || cpu.realtimePeriod || cpu.realtimeRuntime;
      if (used) setCpuV1(this.dir("cpu", "cpu"), cpu, warn);
    }
    if (res.pids && res.pids.limit !== 0) setPidsV1(this.dir("pids", "pids.limit"), res.pids.limit);
    if (res.blockIO) setBlkioV1(this.dir("blkio", "blockIO"), res.blockIO);
    if (res.hugepageLimits?.length) this.applyHugetlb(res.hugepageLimits);
    const net = res.network;
    if (net?.classID !== undefined) {
      if (this.paths.net_cls) setNetClsV1(this.paths.net_cls, net.classID);
      else warn("cgroup: network.classID ignored: the net_cls controller is not mounted");
    }
    if (net?.priorities?.length) {
      if (this.paths.net_prio) setNetPrioV1(this.paths.net_prio, net);
      else warn("cgroup: network.priorities ignored: the net_prio controller is not mounted");
    }
    if (res.rdma && Object.keys(res.rdma).length) setRdma(this.dir("rdma", "rdma"), res.rdma);
  }

  /** The v2 hugetlb controller of a hybrid host, when v1 has no hugetlb hierarchy. */
  private hybridHugetlb(): { dir: string; root: string } | undefined {
    const dir = this.paths[HYBRID_KEY];
    if (!dir) return undefined;
    const mount = unifiedMountOf(dir);
    if (!mount || !controllersOf(mount.mountpoint).has("hugetlb")) return undefined;
    return { dir, root: mount.mountpoint };
  }

  private applyHugetlb(limits: NonNullable<LinuxResources["hugepageLimits"]>): void {
    if (this.paths.hugetlb) {
      setHugetlbV1(this.paths.hugetlb, limits);
      return;
    }
    const hybrid = this.hybridHugetlb();
    if (!hybrid) throw new CgroupError("cgroup: hugepageLimits: the hugetlb controller is not mounted", "ENOENT");
    createV2Path(hybrid.root, hybrid.dir, ["hugetlb"]);
    setHugetlbV2(hybrid.dir, limits);
  }

  joinPlan(stay = false): CgroupJoin {
    const tasks: string[] = [];
    const leave: string[] = [];
    const mounts = stay ? cgroupMounts() : [];
    const own = stay ? procCgroups("self") : new Map<string, string>();
    for (const [key, path] of Object.entries(this.paths)) {
      if (key === HYBRID_KEY) continue;
      // Optional hierarchies whose mkdir failed are skipped, as addProcess skips them.
      if (!existsSync(`${path}/tasks`)) continue;
      tasks.push(`${path}/tasks`);
      if (!stay) continue;
      // Back to where this process is in the same hierarchy: the mount holding the
      // container's dir, at the path /proc/self/cgroup gives for the controller.
      const mount = mountHolding(path, "cgroup", mounts);
      const mine = own.get(key);
      if (!mount || mine === undefined) throw new CgroupError(`cgroup: cannot tell this process's own ${key} cgroup to return to`);
      leave.push(`${cgroupDirInMount(mount, mine)}/tasks`);
    }
    const unified = this.paths[HYBRID_KEY];
    return { tasks, into: unified && existsSync(unified) ? unified : "", leave };
  }

  async addProcess(pid: number): Promise<void> {
    for (const [key, path] of Object.entries(this.paths)) {
      try {
        await writeProc(path, pid);
      } catch (e) {
        if (!isOptionalV1(key)) throw e;
      }
    }
  }

  pids(): number[] {
    return pidsV1(this.paths);
  }

  private freezerState(dir: string): string {
    return readFile(dir, "freezer.state").trim();
  }

  async freeze(): Promise<void> {
    const dir = this.dir("freezer", "freeze");
    // A task in an uninterruptible sleep can keep the cgroup FREEZING for a long
    // time; thawing and retrying now and then lets it get out of the way (runc's loop).
    for (let i = 0; i < 1000; i++) {
      if (i % 50 === 49) {
        writeFile(dir, "freezer.state", "THAWED");
        await sleep(10);
      }
      writeFile(dir, "freezer.state", "FROZEN");
      const state = this.freezerState(dir);
      if (state === "FROZEN") return;
      if (state !== "FREEZING") {
        writeFile(dir, "freezer.state", "THAWED");
        throw new CgroupError(`cgroup freezer.state: unexpected state ${state} while freezing`);
      }
      if (i > 10) await sleep(1);
    }
    writeFile(dir, "freezer.state", "THAWED");
    throw new CgroupError("cgroup freezer.state: unable to freeze: the cgroup stayed FREEZING");
  }

  thaw(): Promise<void> {
    return thawV1(this.dir("freezer", "thaw"));
  }

  async frozen(): Promise<boolean> {
    const dir = this.paths.freezer;
    if (!dir || !isDir(dir)) return false;
    for (let i = 0; i < 1000; i++) {
      const state = this.freezerState(dir);
      if (state === "THAWED") return false;
      if (state === "FROZEN") {
        // FROZEN because an ancestor is frozen does not make the container paused.
        const self = readOptional(dir, "freezer.self_freezing");
        return self === undefined || self.trim() === "1";
      }
      await sleep(1);
    }
    return false;
  }

  stats(): Stats {
    const s = emptyStats();
    const p = this.paths;
    cpuStatsV1(p.cpu, p.cpuacct, s);
    if (p.cpuset) cpusetStatsV1(p.cpuset, s);
    if (p.memory) memoryStatsV1(p.memory, s);
    if (p.pids) pidsStatsV1(p.pids, s);
    if (p.blkio) blkioStatsV1(p.blkio, s);
    if (p.hugetlb) hugetlbStatsV1(p.hugetlb, s);
    else if (p[HYBRID_KEY] && isDir(p[HYBRID_KEY])) hugetlbStatsV2(p[HYBRID_KEY], s);
    return s;
  }

  destroy(): Promise<void> {
    return destroyV1(this.paths);
  }

  killAll(signal: number): Promise<void> {
    return signalAll(this, signal);
  }
}
