// Turning linux.cgroupsPath into directories, with runc 1.1's rules:
// - absolute: below each hierarchy's mount point;
// - relative: below the runtime's own cgroup in that hierarchy (v1), or below the
//   parent of its own cgroup (v2: the own cgroup holds processes, so its children
//   could not get controllers enabled);
// - empty: the container id, as a relative path;
// - systemd mode: "slice:prefix:name", placed where systemd would put the unit.

import { posix } from "node:path";
import { CgroupError } from "./errors";
import {
  cgroupDirInMount,
  cgroupMounts,
  HYBRID_KEY,
  type MountInfo,
  procCgroups,
  unifiedMount,
  unifiedMountOf,
  V1_CONTROLLERS,
  v1Hierarchies,
} from "./mounts";
import { systemdCgroupPath } from "./systemd";

export interface PathRequest {
  cgroupsPath?: string;
  id: string;
  systemd: boolean;
}

/**
 * Lexically clean a path so a relative one cannot climb out with "..": the same as
 * runc's utils.CleanPath.
 */
export function cleanPath(p: string): string {
  if (p === "") return "";
  const c = posix.normalize(p);
  if (posix.isAbsolute(c)) return c.length > 1 ? c.replace(/\/+$/, "") : c;
  const rooted = posix.normalize("/" + c);
  const rel = posix.relative("/", rooted);
  return rel === "" ? "." : rel;
}

/** The path inside a hierarchy, absolute or relative, before it meets a mount point. */
export function innerPath(req: PathRequest): string {
  const p = req.systemd ? systemdCgroupPath(req.cgroupsPath, req.id) : cleanPath(req.cgroupsPath ?? "");
  // A hierarchy's root (or the runtime's own cgroup) is shared with the host: limits
  // would bind it and delete would kill every process in it.
  if (p === "/" || p === ".")
    throw new CgroupError(`cgroup: cgroupsPath ${JSON.stringify(req.cgroupsPath)} names a shared cgroup, not one of the container's own`);
  if (req.systemd || p !== "") return p;
  if (req.id === "") throw new CgroupError("cgroup: no cgroupsPath and no container id to name the cgroup");
  return cleanPath(req.id);
}

// systemd places units relative to the hierarchy's top; when pid 1 is systemd
// (226 or later) it sits in init.scope, and its parent is that top.
function initBase(mount: MountInfo, key: string): string {
  let init: string | undefined;
  try {
    init = procCgroups(1).get(key);
  } catch {
    init = undefined;
  }
  if (init === undefined) return mount.mountpoint;
  const dir = cgroupDirInMount(mount, init);
  return posix.basename(dir) === "init.scope" ? posix.dirname(dir) : dir;
}

/**
 * Directories of a v1 container cgroup, one per mounted hierarchy, keyed by controller
 * ("name=systemd" for the named hierarchy, "" for the hybrid unified one).
 */
export function resolveV1Paths(req: PathRequest, root: string): Record<string, string> {
  const mounts = cgroupMounts();
  const hierarchies = v1Hierarchies(root, mounts);
  if (!hierarchies.has("devices")) {
    // The device allowlist is a security boundary: no hierarchy, no container.
    throw new CgroupError(`cgroup: no devices hierarchy mounted under ${root}`);
  }
  const inner = innerPath(req);
  const own = req.systemd || posix.isAbsolute(inner) ? undefined : procCgroups("self");
  const place = (key: string, mount: MountInfo): string => {
    if (req.systemd) return posix.join(initBase(mount, key), inner);
    if (posix.isAbsolute(inner)) return posix.join(mount.mountpoint, inner);
    const mine = own!.get(key);
    const base = mine === undefined ? mount.mountpoint : cgroupDirInMount(mount, mine);
    return posix.join(base, inner);
  };
  const paths: Record<string, string> = {};
  for (const key of V1_CONTROLLERS) {
    const m = hierarchies.get(key);
    if (m) paths[key] = place(key, m);
  }
  const hybrid = unifiedMount(root, mounts);
  if (hybrid && hybrid.mountpoint !== root) paths[HYBRID_KEY] = place(HYBRID_KEY, hybrid);
  return paths;
}

/** The single directory of a v2 container cgroup below the cgroup2 mount at `root`. */
export function resolveV2Path(req: PathRequest, root: string): string {
  const inner = innerPath(req);
  if (posix.isAbsolute(inner)) return posix.join(root, inner);
  const mounts = cgroupMounts();
  const mount = unifiedMount(root, mounts) ?? unifiedMountOf(root, mounts);
  const mine = procCgroups("self").get(HYBRID_KEY);
  if (!mount || mine === undefined) return posix.join(root, inner);
  const ownDir = cgroupDirInMount(mount, mine);
  const base = ownDir === mount.mountpoint ? ownDir : posix.dirname(ownDir);
  // A base outside the requested root (a root below our own cgroup) falls back to the root.
  if (base !== root && !base.startsWith(root + "/")) return posix.join(root, inner);
  return posix.join(base, inner);
}
