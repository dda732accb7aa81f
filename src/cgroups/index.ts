// Entry point of the cgroups module: pick the driver for this host and resolve the
// container's cgroup, or rebuild it from the paths recorded in state.json.

import type { CgroupConfig, CgroupManager } from "./manager";
import { cgroupVersionAt, DEFAULT_ROOT, unifiedMount, unifiedMountOf } from "./mounts";
import { resolveV1Paths, resolveV2Path } from "./paths";
import { v2DirOf } from "./teardown";
import { V1Manager } from "./v1/manager";
import { V2Manager } from "./v2/manager";

export type { CgroupConfig, CgroupManager } from "./manager";
export { CgroupError } from "./errors";
export { applyDevicesV2, DEFAULT_ALLOWED_DEVICES, deviceRules, type DeviceRule } from "./devices";
export { statsEvent, statsJSON, type Stats } from "./stats";
export { expandSlice, systemdCgroupPath } from "./systemd";
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
  if (cgroupVersionAt(root) === 1) return new V1Manager(resolveV1Paths(cfg, root));
  return new V2Manager(resolveV2Path(cfg, root), root);
}

/** For every later command: the manager of an existing container, from state.json. */
export function loadCgroup(version: 1 | 2, paths: Record<string, string>): CgroupManager {
  if (version === 1) return new V1Manager(paths);
  const dir = v2DirOf(paths);
  const root = unifiedMountOf(dir)?.mountpoint ?? unifiedMount(DEFAULT_ROOT)?.mountpoint ?? DEFAULT_ROOT;
  return new V2Manager(dir, root);
}
