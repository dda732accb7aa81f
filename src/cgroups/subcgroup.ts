// Where an exec'd process goes when it cannot simply join the container's cgroup.
// exec --cgroup: `[controller[,controller...]:]path`, as runc takes it: a path alone
// names the same sub-cgroup in every hierarchy (on v2, the only one), and must then be
// the only flag. The sub-cgroup must exist already: the runtime creates nothing for it.
// And on v2, a container's cgroup that has handed controllers down to sub-cgroups takes
// no process (the kernel's EBUSY): the exec'd one then goes where the init is.

import { closeSync, constants, openSync, writeSync } from "node:fs";
import { posix } from "node:path";
import { CgroupError, errnoCode, errnoMessage } from "./errors";
import { readOptional } from "./files";
import { cgroupDirInMount, procCgroups, unifiedMountOf } from "./mounts";
import { isOptionalV1, v2DirOf } from "./teardown";

/** controller → path below the container's cgroup ("" for every hierarchy). */
export function parseSubCgroups(args: readonly string[]): Map<string, string> | undefined {
  if (!args.length) return undefined;
  const out = new Map<string, string>();
  for (const a of args) {
    const parts = a.split(":");
    if (parts.length > 2) throw new CgroupError(`invalid --cgroup argument: ${a}`);
    if (parts.length === 1) {
      if (args.length !== 1) throw new CgroupError(`invalid --cgroup argument: ${a} (missing <controller>: prefix)`);
      out.set("", a);
      continue;
    }
    for (const ctrl of parts[0]!.split(",")) out.set(ctrl, parts[1]!);
  }
  return out;
}

function below(base: string, sub: string): string {
  const dir = posix.join(base, sub);
  if (dir !== base && !dir.startsWith(base.endsWith("/") ? base : `${base}/`)) throw new CgroupError(`${sub} is not a sub cgroup path`);
  return dir;
}

/** The container's recorded paths with the asked-for sub-cgroups put in. */
export function subCgroupPaths(paths: Record<string, string>, subs: Map<string, string>): Record<string, string> {
  const out = { ...paths };
  const all = subs.get("");
  if (all !== undefined && subs.size === 1) {
    for (const k in out) out[k] = below(out[k]!, all);
    return out;
  }
  for (const [ctrl, sub] of subs) {
    const base = paths[ctrl];
    if (base === undefined) throw new CgroupError(`unknown controller ${ctrl} in SubCgroupPaths`);
    out[ctrl] = below(base, sub);
  }
  return out;
}

/**
 * v2 without --cgroup: undefined while the container's cgroup can take a process (the
 * common case, one read), else the paths of the init's own cgroup below it, as runc
 * falls back to. A cgroup with anything in cgroup.subtree_control refuses processes.
 */
export function initCgroupFallback(paths: Record<string, string>, initPid: number): Record<string, string> | undefined {
  const dir = v2DirOf(paths);
  if ((readOptional(dir, "cgroup.subtree_control") ?? "").trim() === "") return undefined;
  const mount = unifiedMountOf(dir);
  const rel = procCgroups(initPid).get("");
  if (!mount || rel === undefined) return undefined;
  const initDir = cgroupDirInMount(mount, rel);
  // Only somewhere below the container's own: anything else is not the container's.
  if (!initDir.startsWith(`${dir}/`)) return undefined;
  return { "": initDir };
}

function writePid(dir: string, pid: number): void {
  const file = `${dir}/cgroup.procs`;
  let fd: number;
  try {
    fd = openSync(file, constants.O_WRONLY);
  } catch (e) {
    throw new CgroupError(`open ${file}: ${errnoMessage(e)}`, errnoCode(e));
  }
  try {
    writeSync(fd, String(pid));
  } catch (e) {
    throw new CgroupError(`write ${file}: ${errnoMessage(e)}`, errnoCode(e));
  } finally {
    closeSync(fd);
  }
}

/** Moves `pid` into every dir; the hierarchies joined only for consistency may fail. */
export function addToSubCgroups(paths: Record<string, string>, pid: number, version: 1 | 2): void {
  for (const [key, dir] of Object.entries(paths)) {
    try {
      writePid(dir, pid);
    } catch (e) {
      if (version === 1 && isOptionalV1(key)) continue;
      throw new CgroupError(`error adding pid ${pid} to cgroups: ${(e as Error).message}`, errnoCode(e));
    }
  }
}
