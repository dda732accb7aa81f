// The live status of a container, derived from its process every time: a state file alone
// cannot know that the init has died or that its pid now belongs to someone else.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Store, StoredState } from "./store";
import { isAlive } from "./proc";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

export function liveStatus(store: Store, st: StoredState): Status {
  if (!st.pid) {
    if (st.creator && isAlive(st.creator.pid, st.creator.startTime)) return "creating";
    return "stopped";
  }
  if (!isAlive(st.pid, st.startTime)) return "stopped";
  if (st.status === "creating") {
    // A create still at work, or one that died half way: never usable, so "stopped"
    // (delete kills whatever it left).
    return st.creator && isAlive(st.creator.pid, st.creator.startTime) ? "creating" : "stopped";
  }
  if (!st.started && existsSync(store.fifo(st.id))) return "created";
  if (frozen(st)) return "paused";
  return "running";
}

// Read here rather than through the cgroup drivers: state is the hottest command and
// this one file is all it needs of them.
function frozen(st: StoredState): boolean {
  const cg = st.cgroup;
  if (!cg) return false;
  try {
    if (cg.version === 1) {
      const dir = cg.paths["freezer"];
      return !!dir && readFileSync(join(dir, "freezer.state"), "latin1").trim() === "FROZEN";
    }
    const dir = Object.values(cg.paths)[0];
    return !!dir && /^frozen 1$/m.test(readFileSync(join(dir, "cgroup.events"), "latin1"));
  } catch {
    return false;
  }
}

/** The runtime-spec state object (plus runc's extra fields, which engines read). */
export function specState(st: StoredState, status: Status): Record<string, unknown> {
  const out: Record<string, unknown> = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: status === "stopped" ? 0 : st.pid,
    status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: st.owner,
  };
  if (st.annotations && Object.keys(st.annotations).length) out.annotations = st.annotations;
  return out;
}

/** The state given to hooks: exactly the spec's fields. */
export function hookState(st: StoredState, status: Status): string {
  const o: Record<string, unknown> = { ociVersion: st.ociVersion, id: st.id, status, pid: st.pid, bundle: st.bundle };
  if (st.annotations && Object.keys(st.annotations).length) o.annotations = st.annotations;
  return JSON.stringify(o);
}
