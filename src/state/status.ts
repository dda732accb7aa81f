// The live status of a container, derived from its process every time: a state file alone
// cannot know that the init has died or that its pid now belongs to someone else.
import { debug, debugOn } from "../log";
import { validateId, type Store, type StoredState } from "./store";
import { aliveAs, parseStat, type ProcStat } from "./procstat";
import type { Probe } from "./probe";

export type Status = "creating" | "created" | "running" | "paused" | "stopped";

/** /proc/PID/stat of the process if it is alive and the one recorded (start time), else null. */
export async function liveProcess(probe: Probe, pid: number, startTime: number): Promise<ProcStat | null> {
  if (!pid) return null;
  const text = await probe.text(`/proc/${pid}/stat`);
  const st = text === null ? null : parseStat(text);
  return aliveAs(st, startTime) ? st : null;
}

export async function processAlive(probe: Probe, pid: number, startTime: number): Promise<boolean> {
  return (await liveProcess(probe, pid, startTime)) !== null;
}

/**
 * `alive` asks only whether the init can take a signal: "running" then stands for
 * created, running and paused alike, and the fifo and freezer are not read (kill).
 */
export async function liveStatus(store: Store, st: StoredState, probe: Probe, alive = false): Promise<Status> {
  const creating = async () => !!st.creator && (await processAlive(probe, st.creator.pid, st.creator.startTime));
  if (!st.pid) return (await creating()) ? "creating" : "stopped";
  if (!(await processAlive(probe, st.pid, st.startTime))) return "stopped";
  // A create still at work, or one that died half way: never usable, so "stopped"
  // (delete kills whatever it left).
  if (st.status === "creating") return (await creating()) ? "creating" : "stopped";
  if (alive) return "running";
  // The freezer first, as runc reads it: a created container can be paused and resumed.
  if (await frozen(st, probe)) return "paused";
  if (!st.started && (await probe.exists(store.fifo(st.id)))) return "created";
  return "running";
}

/** A container's stored state and its live status. */
export async function load(store: Store, id: string, probe: Probe, alive = false): Promise<{ st: StoredState; status: Status }> {
  validateId(id);
  const st = store.read(id);
  const status = await liveStatus(store, st, probe, alive);
  if (debugOn) debug(`${id}: ${status}, pid ${st.pid}, state in ${store.dir(id)}`);
  return { st, status };
}

// Read here rather than through the cgroup drivers: state is the hottest command and
// this one file is all it needs of them.
export async function frozen(st: StoredState, probe: Probe): Promise<boolean> {
  const cg = st.cgroup;
  if (!cg) return false;
  if (cg.version === 1) {
    const dir = cg.paths["freezer"];
    return !!dir && (await probe.text(`${dir}/freezer.state`))?.trim() === "FROZEN";
  }
  let dir: string | undefined;
  for (const k in cg.paths) {
    dir = cg.paths[k];
    break;
  }
  return !!dir && `\n${(await probe.text(`${dir}/cgroup.events`)) ?? ""}\n`.includes("\nfrozen 1\n");
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
