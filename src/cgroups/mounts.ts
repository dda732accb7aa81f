// Where the cgroup hierarchies are mounted and where this process sits in them,
// read from /proc rather than assumed: controllers may be co-mounted (cpu,cpuacct),
// missing (net_cls), or moved to the unified hierarchy on hybrid hosts.

import { readFileSync, readdirSync, statfsSync } from "node:fs";
import { posix } from "node:path";
import { CgroupError, errnoCode, sysError } from "./errors";
import { HYBRID_KEY } from "./teardown";

export const DEFAULT_ROOT = "/sys/fs/cgroup";
export const CGROUP2_SUPER_MAGIC = 0x63677270;

export interface MountInfo {
  mountpoint: string;
  /** path inside the filesystem that is mounted here ("/" unless a bind or cgroup namespace) */
  root: string;
  fstype: string;
  superOptions: string[];
}

// Controllers a v1 hierarchy can carry that the runtime joins. "name=systemd" is a
// named hierarchy without a controller; joining it keeps systemd's view consistent.
export const V1_CONTROLLERS = [
  "cpuset",
  "devices",
  "memory",
  "cpu",
  "cpuacct",
  "pids",
  "blkio",
  "hugetlb",
  "net_cls",
  "net_prio",
  "perf_event",
  "freezer",
  "rdma",
  "name=systemd",
] as const;

/** Key of the hybrid unified hierarchy in a v1 paths map, as runc records it. */
export { HYBRID_KEY };

// mountinfo escapes space, tab, newline and backslash as octal.
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

export function parseMountinfo(text: string): MountInfo[] {
  const out: MountInfo[] = [];
  for (const line of text.split("\n")) {
    if (!line) continue;
    const sep = line.indexOf(" - ");
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(" ");
    const post = line.slice(sep + 3).split(" ");
    if (pre.length < 5 || post.length < 3) continue;
    out.push({
      root: unescape(pre[3]!),
      mountpoint: unescape(pre[4]!),
      fstype: post[0]!,
      superOptions: post[2]!.split(","),
    });
  }
  return out;
}

export function cgroupMounts(): MountInfo[] {
  let text: string;
  try {
    text = readFileSync("/proc/self/mountinfo", "utf8");
  } catch (e) {
    throw sysError("/proc/self/mountinfo", "read", e);
  }
  return parseMountinfo(text).filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2");
}

/** v1 hierarchies mounted below `root`: controller (or "name=X") → its mount. */
export function v1Hierarchies(root: string, mounts = cgroupMounts()): Map<string, MountInfo> {
  const out = new Map<string, MountInfo>();
  const known = new Set<string>(V1_CONTROLLERS);
  for (const m of mounts) {
    if (m.fstype !== "cgroup" || !isBelow(m.mountpoint, root)) continue;
    for (const opt of m.superOptions) {
      // The first mount of a hierarchy wins; later ones are usually bind mounts of it.
      if (known.has(opt) && !out.has(opt)) out.set(opt, m);
    }
  }
  return out;
}

/** The cgroup2 mount directly at `path`, or the hybrid one below it. */
export function unifiedMount(path: string, mounts = cgroupMounts()): MountInfo | undefined {
  const exact = mounts.find((m) => m.fstype === "cgroup2" && m.mountpoint === path);
  if (exact) return exact;
  return mounts.find((m) => m.fstype === "cgroup2" && isBelow(m.mountpoint, path));
}

/** The mount of type `fstype` a cgroup directory lives in (longest matching mountpoint). */
export function mountHolding(dir: string, fstype: "cgroup" | "cgroup2", mounts = cgroupMounts()): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    if (m.fstype !== fstype) continue;
    if (dir !== m.mountpoint && !dir.startsWith(m.mountpoint + "/")) continue;
    if (!best || m.mountpoint.length > best.mountpoint.length) best = m;
  }
  return best;
}

/** The cgroup2 mount a cgroup directory lives in. */
export function unifiedMountOf(dir: string, mounts = cgroupMounts()): MountInfo | undefined {
  return mountHolding(dir, "cgroup2", mounts);
}

function isBelow(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith("/") ? root : root + "/");
}

/**
 * /proc/<pid>/cgroup as controller → path; "" is the unified (v2) entry. A line lists
 * co-mounted controllers together ("2:cpu,cpuacct:/x"), each gets the path.
 */
export function procCgroups(pid: number | "self" = "self"): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/cgroup`, "utf8");
  } catch (e) {
    throw sysError(`/proc/${pid}/cgroup`, "read", e);
  }
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (!line) continue;
    const first = line.indexOf(":");
    const second = line.indexOf(":", first + 1);
    if (first < 0 || second < 0) throw new CgroupError(`cgroup: malformed /proc/${pid}/cgroup line ${JSON.stringify(line)}`);
    const names = line.slice(first + 1, second);
    const path = line.slice(second + 1);
    if (names === "") out.set(HYBRID_KEY, path);
    else for (const n of names.split(",")) out.set(n, path);
  }
  return out;
}

/**
 * The directory of a process's cgroup inside a mount: the cgroup path from
 * /proc/PID/cgroup is relative to the filesystem root, the mount may show a subtree.
 */
export function cgroupDirInMount(mount: MountInfo, cgroupPath: string): string {
  const rel = posix.relative(mount.root, cgroupPath);
  // Outside the mounted subtree (another cgroup namespace): the path is all we have.
  const inner = rel.startsWith("..") ? cgroupPath : rel;
  return posix.join(mount.mountpoint, inner);
}

/** 2 when `root` is a cgroup2 filesystem (unified mode), else 1. */
export function cgroupVersionAt(root: string): 1 | 2 {
  try {
    return Number(statfsSync(root).type) === CGROUP2_SUPER_MAGIC ? 2 : 1;
  } catch (e) {
    throw sysError(root, "statfs", e);
  }
}

/** Huge page sizes the kernel offers, in the spelling cgroup files use ("2MB", "1GB"). */
export function hugePageSizes(): string[] {
  let names: string[];
  try {
    names = readdirSync("/sys/kernel/mm/hugepages");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return [];
    throw sysError("/sys/kernel/mm/hugepages", "readdir", e);
  }
  const sizes: string[] = [];
  for (const n of names) {
    const m = /^hugepages-(\d+)kB$/.exec(n);
    if (!m) continue;
    const kb = Number(m[1]);
    if (kb >= 1 << 20) sizes.push(`${kb >> 20}GB`);
    else if (kb >= 1 << 10) sizes.push(`${kb >> 10}MB`);
    else sizes.push(`${kb}KB`);
  }
  return sizes;
}


/** One v1 hierarchy as a container sees it under its /sys/fs/cgroup. */
export interface V1HierarchyView {
  /** the host directory of the container's cgroup in it */
  dir: string;
  /** the mount data that names the hierarchy: "cpu,cpuacct", "none,name=systemd" */
  options: string;
  /** controllers besides the directory's own name, each given a symlink to it */
  links: string[];
}

/**
 * The container's v1 paths (controller → dir) grouped by hierarchy, each named after
 * the host's mount point ("cpu,cpuacct", "systemd") as runc names them. Co-mounted
 * controllers are one hierarchy: a cgroup namespace may only mount it with all its
 * controllers at once (a subset would be a new hierarchy: EPERM).
 */
export function v1HierarchyViews(paths: Record<string, string>, mounts = cgroupMounts()): Map<string, V1HierarchyView> {
  // order: the hierarchy's controllers as its mount lists them.
  const out = new Map<string, V1HierarchyView & { names: string[]; order: string[] }>();
  for (const [key, dir] of Object.entries(paths)) {
    if (key === HYBRID_KEY) continue;
    const m = mountHolding(dir, "cgroup", mounts);
    const name = m ? posix.basename(m.mountpoint) : key.replace(/^name=/, "");
    const view = out.get(name) ?? { dir, options: "", links: [], names: [], order: m?.superOptions ?? [] };
    view.names.push(key);
    out.set(name, view);
  }
  for (const [name, view] of out) {
    const order = view.order;
    const rank = (n: string) => (order.indexOf(n) < 0 ? order.length : order.indexOf(n));
    const names = view.names.sort((a, b) => rank(a) - rank(b));
    const named = names.find((n) => n.startsWith("name="));
    const controllers = names.filter((n) => !n.startsWith("name="));
    view.options = named && !controllers.length ? `none,${named}` : [...controllers, ...(named ? [named] : [])].join(",");
    view.links = controllers.filter((c) => c !== name);
  }
  return new Map([...out].map(([k, { names: _, order: __, ...v }]) => [k, v]));
}
