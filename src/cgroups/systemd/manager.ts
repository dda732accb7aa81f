// --systemd-cgroup on a host where systemd runs: the container's cgroup is a transient
// scope that systemd creates, owns and removes. systemd is told the limits it has
// properties for; everything else, and every read, goes to the cgroup files through
// the plain driver of the hierarchy, as in a delegated subtree (Delegate=yes).

import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { posix } from "node:path";
import type { LinuxResources } from "../../spec/types";
import { CgroupError } from "../errors";
import type { CgroupConfig, CgroupJoin, CgroupManager } from "../manager";
import type { Stats } from "../stats";
import { unifiedMount } from "../mounts";
import { DEFAULT_SCOPE_PREFIX, systemdCgroupPath } from "../systemd";
import { hostUid, type Property, type SystemdBus } from "./dbus";
import { resourceProperties } from "./properties";

/** sd_booted(): systemd is the init system (it creates this directory early in boot). */
export function systemdRunning(): boolean {
  return existsSync("/run/systemd/system");
}

/** The rootless caller's units live under its own manager, at this cgroup. */
function userManagerCgroup(uid: number): string {
  return `/user.slice/user-${uid}.slice/user@${uid}.service`;
}

/** Rootless (not root in the initial user namespace): the units go to the user's own manager. */
export function isUser(): boolean {
  const { isRootless } = require("../../rootless/detect") as typeof import("../../rootless/detect");
  return isRootless(undefined);
}

let shared: Promise<SystemdBus> | undefined;
/** One connection per process, made on first use. */
export function bus(user: boolean): Promise<SystemdBus> {
  shared ??= import("./dbus").then((m) => m.SystemdBus.connect(user));
  return shared;
}

/** The unit a container's cgroup directory belongs to: its last component. */
export function unitOfDir(dir: string): string | undefined {
  const u = posix.basename(dir);
  return u.endsWith(".scope") || u.endsWith(".slice") ? u : undefined;
}

/** "slice:prefix:name" → the unit and its slice, with systemd's defaults. */
export function unitOf(cfg: CgroupConfig, user: boolean): { unit: string; slice: string; path: string } {
  let cgroupsPath = cfg.cgroupsPath;
  // A rootless container's units go below the user's manager, in its user.slice.
  if (user && !cgroupsPath) cgroupsPath = `user.slice:${DEFAULT_SCOPE_PREFIX}:${cfg.id}`;
  else if (user && cgroupsPath?.startsWith(":")) cgroupsPath = `user.slice${cgroupsPath}`;
  const path = systemdCgroupPath(cgroupsPath, cfg.id);
  const parts = path.split("/").filter(Boolean);
  const unit = parts.pop()!;
  const slice = parts.length ? parts[parts.length - 1]! : "-.slice";
  return { unit, slice, path };
}

export type Inner = (dir: string) => CgroupManager;

export class SystemdManager implements CgroupManager {
  readonly unit: string;
  /** recorded in state.json at create, before systemd says where the scope is */
  readonly paths: Record<string, string>;
  private inner: CgroupManager;
  private placed = 0;

  /**
   * `makeInner` builds the file driver for a directory (the scope's, once systemd says
   * where it is); `cfg.pid` is the process systemd places in a new scope.
   */
  constructor(
    private cfg: CgroupConfig,
    private mount: string,
    private makeInner: Inner,
    private user = isUser(),
    /** an existing container's unit (its cgroup is the one makeInner gives) */
    existing?: string,
  ) {
    if (existing) {
      this.unit = existing;
      this.inner = makeInner("");
    } else {
      const { unit, path } = unitOf(cfg, user);
      this.unit = unit;
      const base = user ? userManagerCgroup(hostUid()) : "";
      this.inner = makeInner(posix.join(mount, base + path));
    }
    this.paths = { ...this.inner.paths };
  }

  get version(): 1 | 2 {
    return this.inner.version;
  }

  /**
   * StartTransientUnit: the scope, in its slice, holding `cfg.pid` (the process that
   * clones the init into it). The limits follow in apply() once the init exists, as
   * with the other drivers: a TasksMax of 1 would refuse the clone while both are in.
   * `keep` starts the unit with that process instead, and it stays in: CRIU restores
   * the tree into its own cgroup, and a scope left empty for a moment is stopped.
   */
  async create(keep?: number): Promise<void> {
    const pid = keep ?? this.cfg.pid;
    if (!pid) throw new CgroupError("cgroup: systemd: no process to start the unit with");
    const { slice } = unitOf(this.cfg, this.user);
    // A name ending in ".slice" makes the container's unit a slice, which hangs from its
    // parent by Wants= (runc 1.1); a scope goes into its slice, delegated. systemd takes
    // no PIDs for a slice and refuses the unit, as it refuses runc's.
    const place: Property[] = this.unit.endsWith(".slice")
      ? [["Wants", ["as", [slice]]]]
      : [...(slice !== "-.slice" ? [["Slice", ["s", slice]] as Property] : []), ["Delegate", ["b", true]]];
    const props: Property[] = [
      ["Description", ["s", `dx-runtime container ${this.cfg.id}`]],
      ...place,
      ["PIDs", ["au", [pid]]],
      ["MemoryAccounting", ["b", true]],
      ["CPUAccounting", ["b", true]],
      [this.version === 1 ? "BlockIOAccounting" : "IOAccounting", ["b", true]],
      ["TasksAccounting", ["b", true]],
      ["DefaultDependencies", ["b", false]],
    ];
    const b = await bus(this.user);
    let result: string;
    try {
      result = await b.job("StartTransientUnit", "ssa(sv)a(sa(sv))", [this.unit, "replace", props, []]);
    } catch (e: any) {
      closeBus();
      if (e?.dbusName === "org.freedesktop.systemd1.UnitExists") {
        throw new CgroupError(`cgroup: systemd unit ${this.unit} already exists`);
      }
      throw new CgroupError(`cgroup: systemd: start ${this.unit}: ${e?.message ?? e}`);
    }
    if (result !== "done") {
      closeBus();
      throw new CgroupError(`cgroup: systemd: start ${this.unit}: job ${result}`);
    }
    this.placed = keep ? 0 : pid;
    // On v1 systemd makes the unit's directory only in the hierarchies it manages;
    // the others (cpuset, hugetlb, net_cls…) are the runtime's to make, as runc does.
    if (this.version === 1) this.inner.create();
    // systemd knows where it put the unit; the guess from the name only stands in for it.
    try {
      const cg = await b.unitProperty(this.unit, this.unit.endsWith(".scope") ? "org.freedesktop.systemd1.Scope" : "org.freedesktop.systemd1.Slice", "ControlGroup");
      if (typeof cg === "string" && cg) {
        this.inner = this.makeInner(posix.join(this.mount, cg));
        // The state being written holds this very object.
        for (const k of Object.keys(this.paths)) delete this.paths[k];
        Object.assign(this.paths, this.inner.paths);
      }
    } catch {}
  }

  /** SetUnitProperties, then the cgroup files for all of `r` (what systemd does not cover). */
  async apply(r: LinuxResources | undefined, warn: (msg: string) => void, opts: { devices?: boolean } = {}): Promise<void> {
    // A user's manager cannot filter devices (no BPF without privilege), nor can the
    // runtime: a rootless container has only the device nodes it was given.
    if (this.user) opts = { ...opts, devices: false };
    const props = resourceProperties(r, { ...opts, version: this.version });
    if (props.length) {
      const b = await bus(this.user);
      try {
        await b.call("SetUnitProperties", "sba(sv)", [this.unit, true, props]);
      } catch (e: any) {
        throw new CgroupError(`cgroup: systemd: set properties of ${this.unit}: ${e?.message ?? e}`);
      } finally {
        // The last call of create and of update: an open bus would keep the process up.
        closeBus();
      }
    }
    // The process systemd placed in the new scope cloned the init there; if it stays
    // to wait for it, it goes back to the runtime's own cgroup.
    // (On v1 the stub itself leaves the v1 hierarchies; a hybrid host's unified one,
    // where systemd tracks the unit, is left here as on v2.)
    if (this.placed) {
      const unified = this.version === 2 ? this.mount : unifiedMount(this.mount)?.mountpoint;
      if (unified) leaveScope(this.placed, unified);
      this.placed = 0;
    }
    await this.inner.apply(r, warn, opts);
  }

  addProcess(pid: number): Promise<void> {
    return this.inner.addProcess(pid);
  }
  joinPlan(stay?: boolean): CgroupJoin {
    return this.inner.joinPlan(stay);
  }
  pids(): number[] {
    return this.inner.pids();
  }
  freeze(): Promise<void> {
    return this.inner.freeze();
  }
  thaw(): Promise<void> {
    return this.inner.thaw();
  }
  frozen(): Promise<boolean> {
    return this.inner.frozen();
  }
  stats(): Stats {
    return this.inner.stats();
  }
  killAll(signal: number): Promise<void> {
    return this.inner.killAll(signal);
  }

  /** StopUnit (a unit already gone is fine), then whatever directories are left. */
  async destroy(): Promise<void> {
    try {
      await stopUnit(this.unit, this.user);
    } finally {
      closeBus();
    }
    await this.inner.destroy();
  }
}

function leaveScope(pid: number, mount: string): void {
  try {
    const own = readFileSync("/proc/self/cgroup", "utf8").match(/^0::(.*)$/m)?.[1];
    if (own === undefined) return;
    writeFileSync(posix.join(mount, own, "cgroup.procs"), String(pid));
  } catch {
    // Gone already: it exits once the init is cloned unless it waits for it.
  }
}

/** StopUnit and wait for the job; no error when the unit no longer exists. */
export async function stopUnit(unit: string, user = isUser()): Promise<void> {
  const b = await bus(user);
  try {
    const result = await b.job("StopUnit", "ss", [unit, "replace"]);
    if (result !== "done") throw new CgroupError(`cgroup: systemd: stop ${unit}: job ${result}`);
  } catch (e: any) {
    if (e?.dbusName === "org.freedesktop.systemd1.NoSuchUnit") return;
    throw e instanceof CgroupError ? e : new CgroupError(`cgroup: systemd: stop ${unit}: ${e?.message ?? e}`);
  }
  // A failed transient unit stays loaded until reset; its name must be free again.
  try {
    await b.call("ResetFailedUnit", "s", [unit]);
  } catch {}
}

/** For delete: stop the unit of a container created with --systemd-cgroup, if any. */
export async function stopUnitOfPaths(paths: Record<string, string>): Promise<void> {
  if (!systemdRunning()) return;
  const dir = paths[""] ?? Object.values(paths)[0];
  const unit = dir ? unitOfDir(dir) : undefined;
  if (unit) await stopUnit(unit);
}

export function closeBus(): void {
  void shared?.then((b) => b.close()).catch(() => {});
  shared = undefined;
}
