// What the runtime's own mount table says about the tree a container's mount namespace
// starts as a copy of: read once, before clone, so the stub only acts on paths.
import { readFileSync, realpathSync } from "node:fs";

export interface MountEntry {
  /** the path within its filesystem that is mounted (field 4) */
  root: string;
  mountPoint: string;
  /** optional fields: shared:N, master:N, propagate_from:N, unbindable */
  optional: string[];
  fstype: string;
}

const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

export function readMountInfo(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "latin1").split("\n")) {
    const f = line.split(" ");
    const dash = f.indexOf("-");
    if (dash < 6) continue;
    out.push({ root: unescape(f[3]!), mountPoint: unescape(f[4]!), optional: f.slice(6, dash), fstype: f[dash + 1]! });
  }
  return out;
}

const under = (p: string, dir: string) => dir === "/" || p === dir || p.startsWith(dir + "/");

/** The topmost mount whose mount point holds `path` (the last listed wins, as the kernel stacks them). */
export function mountHolding(path: string, table = readMountInfo()): MountEntry | undefined {
  let best: MountEntry | undefined;
  for (const m of table) if (under(path, m.mountPoint) && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  return best;
}

export const isShared = (m: MountEntry) => m.optional.some((o) => o.startsWith("shared:"));

/**
 * Whole (root "/") procfs and sysfs mounts outside the rootfs: while one is reachable the
 * kernel lets a user namespace mount a fresh, unmasked one (see HIDE_HOST).
 */
export function hostPseudoMounts(rootfs: string, table = readMountInfo()): string[] {
  return table
    .filter((m) => m.root === "/" && (m.fstype === "proc" || m.fstype === "sysfs") && !under(m.mountPoint, rootfs))
    .map((m) => m.mountPoint);
}

export function realPath(p: string): string {
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}
