// kill: one signal to the init, or to every process of the container with --all. Its
// common path reads the state and /proc through Bun and loads neither node:fs nor koffi.
import { debug, debugOn } from "../log";
import { RuntimeError } from "../errors";
import type { Context } from "../context";
import { frozen, load } from "../state/status";
import { bunProbe } from "../state/probe";
import { cgroupOf } from "./cgroup";

export async function kill(ctx: Context, id: string, sig: number, all: boolean): Promise<void> {
  // Created, running and paused all take the signal: only liveness is read.
  const { st, status } = await load(ctx.store, id, bunProbe, true);
  if (status === "stopped" && all) {
    // As runc does: once init has exited, --all still reaches what is left in the cgroup.
    // containerd's shim sends it (twice per StopContainer) to clean up after an init that
    // shared a pid namespace; mostly nothing is left, which cgroup.events tells without
    // loading the cgroup drivers (~400 page faults).
    if (!st.cgroup || (await emptyCgroup(st.cgroup.version, st.cgroup.paths))) return;
    try {
      await cgroupOf(st)?.killAll(sig);
    } catch {
      // The cgroup is gone, and with it every process.
    }
    return;
  }
  if (status !== "created" && status !== "running" && status !== "paused")
    // go-runc users (containerd's shim) match "container not running" to tell an exited
    // container from a failed kill. Signal 0 asks just that, and gets the same answer.
    throw new RuntimeError(`container not running: ${id} (status ${status})`);
  if (all && st.cgroup) {
    if (debugOn) debug(`kill: signal ${sig} to every process in ${JSON.stringify(st.cgroup.paths)}`);
    await cgroupOf(st)!.killAll(sig);
    return;
  }
  // The start time was matched by liveStatus just now. kill(2) rather than a pidfd keeps
  // koffi off this path; a recycled pid would need the init to die, be reaped and its pid
  // be handed out again in the microseconds between the two, which pid allocation (it
  // moves forward through pid_max) does not do.
  if (debugOn) debug(`kill: signal ${sig} to pid ${st.pid}`);
  try {
    process.kill(st.pid, sig);
  } catch (e: any) {
    // Exiting between the status check and here is still "not running" to an engine.
    if (e?.code === "ESRCH") throw new RuntimeError(`container not running: ${id} (process ${st.pid} has exited)`);
    throw new RuntimeError(`signal ${sig} to ${st.pid}: ${e?.code ?? e?.message}`);
  }
  // A frozen v1 cgroup holds even SIGKILL until it thaws: runc thaws a paused container
  // it kills, and so the KILL is delivered.
  if (sig === 9 && (await frozen(st, bunProbe))) {
    try {
      await cgroupOf(st)!.thaw();
    } catch {}
  }
}

/**
 * True when the cgroup2 directory recorded for the container (on v2, or the unified
 * hierarchy of a hybrid host) reports "populated 0": no process in its whole subtree.
 * Anything else (v1 alone, a cgroup already gone) is left to the drivers.
 */
async function emptyCgroup(version: number, paths: Record<string, string>): Promise<boolean> {
  const vals = Object.values(paths);
  const dir = version === 2 ? (paths[""] ?? (vals.length === 1 ? vals[0] : undefined)) : paths[""];
  if (!dir) return false;
  const events = await bunProbe.text(`${dir}/cgroup.events`);
  return events !== null && events.includes("populated 0");
}
