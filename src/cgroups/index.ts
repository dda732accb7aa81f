// Entry point of the cgroups module: pick the driver for this host and resolve the
// container's cgroup, or rebuild it from the paths recorded in state.json.

import type { CgroupConfig, CgroupManager } from "./manager";
import { cgroupVersionAt, DEFAULT_ROOT, unifiedMount, unifiedMountOf } from "./mounts";
import { resolveV1Paths, resolveV2Path } from "./paths";
import { v2DirOf } from "./teardown";
import { V1Manager } from "./v1/manager";
import { V2Manager } from "./v2/manager";
import { SystemdManager, systemdRunning } from "./systemd/manager";

export type { CgroupConfig, CgroupManager } from "./manager";
export { CgroupError } from "./errors";
export { applyDevicesV2, DEFAULT_ALLOWED_DEVICES, deviceRules, type DeviceRule } from "./devices";
export { statsEvent, statsJSON, type Stats } from "./stats";
export { expandSlice, systemdCgroupPath } from "./systemd";
import { unitOfDir } from "./systemd/manager";
function systemdUnitOf(paths: Record<string, string>): string | undefined {
  const dir = paths[""] ?? Object.values(paths)[0];
  return dir ? unitOfDir(dir) : undefined;
}
export { primeAttach } from "./prime";
export { OomWatch } from "./oom";
export { addToSubCgroups, initCgroupFallback, parseSubCgroups, subCgroupPaths } from "./subcgroup";

/** 2 when the hierarchy root is a cgroup2 filesystem (CGROUP2_SUPER_MAGIC), else 1. */
export function cgroupVersion(root: string = DEFAULT_ROOT): 1 | 2 {
  return cgroupVersionAt(root);
}

/** For create: resolve cgroupsPath (or the id) into the container's directories. */
export function openCgroup(cfg: CgroupConfig): CgroupManager {
  const root = cfg.mountRoot ?? DEFAULT_ROOT;
  if (cfg.systemd && systemdRunning()) return openSystemdCgroup(cfg, root);
  if (cgroupVersionAt(root) === 1) return new V1Manager(resolveV1Paths(cfg, root));
  return new V2Manager(resolveV2Path(cfg, root), root);
}

/** A transient unit of systemd's, with the v2 (or v1) files driven directly below it. */
function openSystemdCgroup(cfg: CgroupConfig, root: string): CgroupManager {
  if (cgroupVersionAt(root) === 1) {
    return new SystemdManager(cfg, root, () => new V1Manager(resolveV1Paths(cfg, root)));
  }
  return new SystemdManager(cfg, root, (dir) => new V2Manager(dir, root));
}

/** With --systemd-cgroup where systemd runs, the unit of a container's recorded cgroup. */
export function loadSystemdCgroup(version: 1 | 2, paths: Record<string, string>): CgroupManager {
  const m = loadCgroup(version, paths);
  const unit = systemdUnitOf(paths);
  if (!unit || !systemdRunning()) return m;
  return new SystemdManager({ id: "", systemd: true }, DEFAULT_ROOT, () => m, undefined, unit);
}

/** For every later command: the manager of an existing container, from state.json. */
export function loadCgroup(version: 1 | 2, paths: Record<string, string>): CgroupManager {
  if (version === 1) return new V1Manager(paths);
  const dir = v2DirOf(paths);
  const root = unifiedMountOf(dir)?.mountpoint ?? unifiedMount(DEFAULT_ROOT)?.mountpoint ?? DEFAULT_ROOT;
  return new V2Manager(dir, root);
}
