// The contract between the runtime and a cgroup driver. The runtime resolves a
// manager once at create (openCgroup), records `paths` in state.json, and later
// commands rebuild the manager from those paths alone (loadCgroup).

import type { LinuxResources } from "../spec/types";
import type { Stats } from "./stats";

export interface CgroupConfig {
  /** linux.cgroupsPath; "slice:prefix:name" when systemd is set */
  cgroupsPath?: string;
  /** container id: names the cgroup when cgroupsPath is empty */
  id: string;
  /** --systemd-cgroup */
  systemd: boolean;
  /**
   * Where the cgroup filesystems are mounted (default /sys/fs/cgroup). Its filesystem
   * type picks the driver: cgroup2 → v2, otherwise v1 hierarchies below it.
   */
  mountRoot?: string;
  /**
   * With systemd running: the process systemd places in the new unit, which then
   * clones the container's init into it (a scope cannot start empty).
   */
  pid?: number;
}

/** See CgroupManager.joinPlan. */
export interface CgroupJoin {
  tasks: string[];
  into: string;
  leave: string[];
}

export interface CgroupManager {
  readonly version: 1 | 2;
  /** the systemd unit that owns the cgroup, when systemd manages it */
  readonly unit?: string;
  /** per-hierarchy absolute dirs, recorded in state.json so later commands find them without config */
  readonly paths: Record<string, string>;
  /**
   * mkdir (parents too) in every hierarchy; idempotent. `keep`: a process the cgroup
   * is made around and that stays in it (systemd starts a unit with it).
   */
  create(keep?: number): void | Promise<void>;
  /** write limits; throws CgroupError with a one-line message on an impossible limit */
  /**
   * `devices: false` leaves the device rules alone: an update that does not mention
   * devices must not reset a running container's allowlist.
   */
  apply(r: LinuxResources | undefined, warn: (msg: string) => void, opts?: { devices?: boolean }): void | Promise<void>;
  /** cgroup.procs in every hierarchy */
  addProcess(pid: number): Promise<void>;
  /**
   * How a process about to clone the container's init joins without addProcess: the v1
   * `tasks` files it writes "0" into, and the v2 directory its child is cloned into
   * (CLONE_INTO_CGROUP; "" for none). Only dirs that exist, so after create(). With
   * `stay`, the process waits for the init afterwards and must not stay inside: `leave`
   * then lists its own v1 `tasks` files to go back to once the child exists.
   */
  joinPlan(stay?: boolean): CgroupJoin;
  /** every pid in the cgroup and below */
  pids(): number[];
  /** v1 freezer / v2 cgroup.freeze; each waits until the state is reached */
  freeze(): Promise<void>;
  thaw(): Promise<void>;
  frozen(): Promise<boolean>;
  /** runc's `events --stats` "data" (see statsEvent for the JSON) */
  stats(): Stats;
  /** rmdir every dir (retrying briefly on EBUSY); no error if already gone */
  destroy(): Promise<void>;
  /**
   * Send `signal` to every process in the cgroup (kill --all). Processes are frozen
   * while being signalled so none can fork past the sweep; SIGKILL on v2 uses
   * cgroup.kill where the kernel has it.
   */
  killAll(signal: number): Promise<void>;
}

/** Freeze, signal every member, thaw: what `kill --all` needs on either version. */
export async function signalAll(m: CgroupManager, signal: number): Promise<void> {
  let froze = false;
  try {
    await m.freeze();
    froze = true;
  } catch {
    // Without a freezer the sweep still happens, only racier.
  }
  try {
    for (const pid of m.pids()) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    }
  } finally {
    if (froze) await m.thaw();
  }
}
