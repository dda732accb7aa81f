// Creating a v2 cgroup: a controller's files only appear in a cgroup whose parent lists
// it in cgroup.subtree_control, so every ancestor from the mount down enables the
// controllers first (as runc does, all that the top offers).

import { mkdirSync } from "node:fs";
import { posix } from "node:path";
import { CgroupError, errnoCode, sysError } from "../errors";
import { readOptional, writeFile } from "../files";

function words(text: string | undefined): string[] {
  return (text ?? "").split(/\s+/).filter(Boolean);
}

/**
 * Enable `wanted` in dir's cgroup.subtree_control. All at once first; if the kernel
 * refuses (one controller busy or threaded), one by one, keeping whatever it takes:
 * limits needing a refused controller fail later with a precise message.
 */
export function enableControllers(dir: string, wanted: readonly string[]): void {
  const enabled = new Set(words(readOptional(dir, "cgroup.subtree_control")));
  const missing = wanted.filter((c) => !enabled.has(c));
  if (missing.length === 0) return;
  try {
    writeFile(dir, "cgroup.subtree_control", missing.map((c) => `+${c}`).join(" "));
  } catch {
    for (const c of missing) {
      try {
        writeFile(dir, "cgroup.subtree_control", `+${c}`);
      } catch {
        // Best effort, see above.
      }
    }
  }
}

/**
 * mkdir `dir` and its missing parents below `root`, enabling `controllers` (default:
 * all that root offers) in `root` and every ancestor of `dir`.
 */
export function createV2Path(root: string, dir: string, controllers?: readonly string[]): void {
  const rel = posix.relative(root, dir);
  if (rel.startsWith("..") || posix.isAbsolute(rel)) {
    throw new CgroupError(`cgroup: ${dir} is not below the cgroup2 mount ${root}`);
  }
  const wanted = controllers ?? words(readOptional(root, "cgroup.controllers"));
  const parts = rel === "" ? [] : rel.split("/");
  let current = root;
  for (const part of parts) {
    enableControllers(current, wanted);
    current = posix.join(current, part);
    try {
      mkdirSync(current, { mode: 0o755 });
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw sysError(current, "mkdir", e);
    }
    // A threaded subtree cannot host the domain controllers a container needs.
    const type = readOptional(current, "cgroup.type")?.trim();
    if (type === "domain invalid") {
      throw new CgroupError(`cgroup: cannot use ${current}: it is in an invalid state (cgroup.type "domain invalid")`);
    }
  }
}
