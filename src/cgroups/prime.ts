// Moving a process into a cgroup takes the kernel's cgroup threadgroup lock for
// writing, and the first writer after a quiet spell waits out an RCU grace period:
// 10-30 ms here, on the path of every create and exec. Re-joining the runtime's own
// cgroup (a migration that moves nothing) starts that wait on a worker thread at once,
// so by the time the container's process exists its attach finds the lock warm.
// Best effort: any failure only means the attach pays the wait itself.
import { join } from "node:path";
import { cgroupDirInMount, cgroupMounts, cgroupVersionAt, DEFAULT_ROOT, procCgroups, unifiedMount, v1Hierarchies } from "./mounts";

export function primeAttach(root: string = DEFAULT_ROOT): void {
  try {
    const own = procCgroups("self");
    const mounts = cgroupMounts();
    let dir: string | undefined;
    if (cgroupVersionAt(root) === 2) {
      const m = unifiedMount(root, mounts);
      const p = own.get("");
      if (m && p !== undefined) dir = cgroupDirInMount(m, p);
    } else {
      // cpuset's attach is the slow one on v1: warm that hierarchy.
      const h = v1Hierarchies(root, mounts);
      const ctl = h.has("cpuset") ? "cpuset" : [...h.keys()][0];
      const m = ctl ? h.get(ctl) : undefined;
      const p = ctl ? own.get(ctl) : undefined;
      if (m && p !== undefined) dir = cgroupDirInMount(m, p);
    }
    // node:fs/promises is required here, not imported: this module shares a chunk with
    // the cgroup drivers, which delete loads too, and loading it costs ~0.5 ms.
    if (dir) (require("node:fs/promises") as typeof import("node:fs/promises")).writeFile(join(dir, "cgroup.procs"), String(process.pid)).catch(() => {});
  } catch {
    // no cgroup filesystem we understand: nothing to warm
  }
}
