// The container's cgroup when the runtime is rootless. Where the user may make it (a
// cgroup v2 subtree delegated to them), it is made and limited as root's would be;
// where they may not (cgroup v1, an undelegated v2 tree), the container runs in the
// runtime's own cgroup, which is allowed only if the config asks for no limits.
import { accessSync, constants } from "node:fs";
import { posix } from "node:path";
import type { LinuxResources } from "../spec/types";
import type { CgroupManager } from "../cgroups/manager";
import { RuntimeError } from "../errors";
import { limitsAsked } from "./limits";
import { HYBRID_KEY } from "../cgroups/teardown";

const DENIED = new Set(["EACCES", "EPERM", "EROFS"]);

function firstDir(cg: CgroupManager): string {
  return cg.paths.devices ?? cg.paths.memory ?? Object.values(cg.paths)[0] ?? "?";
}

/**
 * mkdir the cgroup; undefined (after removing any part made) when the user may not make
 * it or not move the container into it, and nothing needs it. `debug` hears why the
 * container runs without one.
 */
export async function createRootlessCgroup(cg: CgroupManager, r: LinuxResources | undefined, debug: (m: string) => void): Promise<CgroupManager | undefined> {
  let why: string | undefined;
  try {
    cg.create();
    if (cg.version === 2) why = unjoinableV2(cg.paths[HYBRID_KEY]!);
    if (why === undefined) return cg;
  } catch (e: any) {
    if (!DENIED.has(e?.code)) throw e;
    why = `${e.message} (no cgroup is delegated to this user)`;
  }
  try {
    await cg.destroy();
  } catch {}
  const asked = limitsAsked(r);
  if (asked.length) throw new RuntimeError(`rootless: linux.resources.${asked[0]} needs a cgroup, and ${why}`);
  debug(`rootless: no cgroup of its own, the container stays in the runtime's: ${why}`);
  return undefined;
}

/**
 * Why the container could not be cloned into `dir`, or undefined. The kernel moves a
 * process for an unprivileged user only with write access to cgroup.procs of the
 * destination and of the nearest common ancestor of source and destination: a cgroup
 * made in a delegated subtree is of no use to a runtime running outside it, and the
 * clone would fail with a bare EACCES. Where it cannot be told, the kernel decides.
 */
function unjoinableV2(dir: string): string | undefined {
  const own = ownCgroupPaths(2)[HYBRID_KEY];
  if (own === undefined) return undefined;
  let common = own;
  while (common !== dir && !dir.startsWith(common + "/")) {
    const up = posix.dirname(common);
    if (up === common) return undefined;
    common = up;
  }
  for (const d of common === dir ? [dir] : [dir, common]) {
    try {
      accessSync(`${d}/cgroup.procs`, constants.W_OK);
    } catch (e: any) {
      if (!DENIED.has(e?.code)) return undefined;
      return d === dir
        ? `cgroup ${dir}: cgroup.procs is not writable by this user`
        : `cgroup ${dir}: the runtime runs in ${own}, and moving a process between them needs write access to cgroup.procs of ${common}, their common ancestor (run the runtime inside the delegated subtree)`;
    }
  }
  return undefined;
}

/** Limits into a cgroup the user made; a refusal names the limit. Device rules are skipped (see limitsAsked). */
export function applyRootless(cg: CgroupManager, r: LinuxResources | undefined, warn: (m: string) => void): void {
  try {
    cg.apply(r, warn, { devices: false });
  } catch (e: any) {
    const asked = limitsAsked(r);
    throw new RuntimeError(`rootless: linux.resources${asked.length ? `.${asked.join(", ")}` : ""}: cgroup ${firstDir(cg)}: ${e.message}`);
  }
}

/**
 * Without a cgroup of its own the container sits in the runtime's: a cgroup mount in its
 * config shows it that one (as runc does), read from where this process sits.
 */
export function ownCgroupPaths(version: 1 | 2): Record<string, string> {
  const { cgroupDirInMount, cgroupMounts, DEFAULT_ROOT, procCgroups, unifiedMount, v1Hierarchies, HYBRID_KEY } =
    require("../cgroups/mounts") as typeof import("../cgroups/mounts");
  const mounts = cgroupMounts();
  const own = procCgroups("self");
  const out: Record<string, string> = {};
  if (version === 1) {
    for (const [key, m] of v1Hierarchies(DEFAULT_ROOT, mounts)) {
      const p = own.get(key);
      if (p !== undefined) out[key] = cgroupDirInMount(m, p);
    }
    return out;
  }
  const m = unifiedMount(DEFAULT_ROOT, mounts);
  const p = own.get(HYBRID_KEY);
  if (m && p !== undefined) out[HYBRID_KEY] = cgroupDirInMount(m, p);
  return out;
}
