// delete: the end of a container's life. Engines call it once per container (and then
// once more, forced, when it is gone), so the common path, a stopped container, loads
// neither node:fs, koffi, the hooks nor the cgroup drivers (only their teardown): it
// reads and removes through bun:ffi (native/ffi.ts).
import { debug, debugOn } from "../log";
import type { Spec } from "../spec/types";
import { RuntimeError } from "../errors";
import type { Context } from "../context";
import { validateId, type StoredState } from "../state/store";
import { hookState, load, processAlive } from "../state/status";
import { ffiProbe, fsProbe, type Probe } from "../state/probe";
import { teardownOf, v2DirOf } from "../cgroups/teardown";
import { releaseHostMounts } from "../mounts/release";
import { ffiRemover } from "../native/ffi";
import { nodeRemover, type Remover } from "../native/nodefs";

type Hooks = typeof import("../hooks/run");

export async function remove(ctx: Context, id: string, force: boolean): Promise<void> {
  validateId(id);
  if (!ctx.store.exists(id)) {
    if (force) return;
    throw new RuntimeError(`container ${id} does not exist`);
  }
  if (ctx.store.unwritten(id)) {
    // A create that died before its first state: nothing but the dir is left (runc too
    // removes such a dir, and says it does not exist unless forced).
    ctx.store.remove(id, ffiRemover);
    if (force) return;
    throw new RuntimeError(`container ${id} does not exist`);
  }
  const { st, status } = await load(ctx.store, id, ffiProbe);
  // "stopped" is final: no create, start or exec can bring it back, so deleting it needs
  // no lock. Anything alive is taken under the lock that create holds while it works.
  if (status === "stopped") return await destroy(ctx, st, undefined, { probe: ffiProbe, rm: ffiRemover });
  const release = ctx.store.lock(id);
  try {
    const { st, status } = await load(ctx.store, id, fsProbe);
    if ((status === "running" || status === "paused" || status === "creating") && !force)
      throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
    await destroy(ctx, st);
  } finally {
    release();
  }
}

/** How destroy reads the system and removes files: by default through node:fs. */
export interface Io {
  probe: Probe;
  rm: Remover;
}

/**
 * Undoes create: every process of the container, its cgroup, its state; then poststop.
 * `hookCwd`: where poststop hooks run; the caller's directory unless said (run: the bundle).
 */
export async function destroy(ctx: Context, st: StoredState, hookCwd?: string, io: Io = { probe: fsProbe, rm: nodeRemover }): Promise<void> {
  const cg = st.cgroup ? teardownOf(st.cgroup.version, st.cgroup.paths, io.rm) : undefined;
  if (debugOn) debug(`delete: ${st.id}: init pid ${st.pid || "-"}${st.cgroup ? `, removing cgroup v${st.cgroup.version} paths ${JSON.stringify(st.cgroup.paths)}` : ""}`);
  // Most containers were never frozen: one read says so, and thawing is skipped.
  const thaw = async () => {
    try {
      if (cg && (await freezerEngaged(st.cgroup!, io.probe))) await cg.thaw();
    } catch {}
  };
  // Frozen tasks do not die until thawed.
  if (st.cgroup?.version === 1) await thaw();
  if (st.pid) await killAndWait(io.probe, st.pid, st.startTime);
  if (st.creator) await killAndWait(io.probe, st.creator.pid, st.creator.startTime);
  if (cg) {
    await thaw();
    // As runc: with a pid namespace of its own, the init's death has taken every process
    // of the container with it, and whatever else is in the cgroup is not the container's.
    // A create cut short may have left its stub there, unless the cgroup is shared.
    const sweep = !st.cgroup!.shared && (!!st.creator || !ownsPidNamespace(st.config as Spec));
    for (let round = 0; sweep && round < 3; round++) {
      let pids: number[] = [];
      try {
        pids = cg.pids();
      } catch {}
      if (!pids.length) break;
      for (const p of pids) await killAndWait(io.probe, p);
    }
    try {
      // systemd removes the unit's cgroup and forgets the unit.
      if (st.systemdCgroup) await (await import("../cgroups/systemd/stop")).stopUnitOfPaths(st.cgroup!.paths);
    } catch (e: any) {
      ctx.log.warn(`remove cgroup: ${e.message}`);
    }
    try {
      await cg.destroy();
    } catch (e: any) {
      ctx.log.warn(`remove cgroup: ${e.message}`);
    }
  }
  const spec = st.config as Spec;
  if (st.rootfs) {
    // A no-op unless the container shared the host's mount namespace. Imported with this
    // module: a chunk loaded on demand costs delete ~0.2 ms even when nothing is done.
    releaseHostMounts(st.rootfs, spec, (m) => ctx.log.warn(m));
  }
  // The exec fifo, if start never took it, goes with the rest of the state dir.
  if (debugOn) debug(`delete: removing ${ctx.store.dir(st.id)}`);
  ctx.store.remove(st.id, io.rm);
  if (st.bundle && spec?.hooks?.poststop?.length) {
    const { runHooksWarn } = require("../hooks/run") as Hooks;
    runHooksWarn("poststop", spec.hooks.poststop, hookState(st, "stopped"), (m) => ctx.log.warn(m), hookCwd);
  }
}

/**
 * SIGKILL to a process that is still the one recorded (start time), and wait until it is
 * gone. A process already gone or a zombie costs one read of /proc; only a live one loads
 * the pidfd path, which waits for the exit without polling.
 */
async function killAndWait(probe: Probe, pid: number, startTime = 0): Promise<void> {
  if (await processAlive(probe, pid, startTime)) (require("../process/reap") as typeof import("../process/reap")).killAndWait(pid);
}

/**
 * Whether the freezer holds the cgroup in any way (frozen, freezing, or asked to freeze),
 * so that delete thaws only what needs it and, for the rest, reads one file through the
 * probe instead of loading the cgroup file layer's node:fs. The file is the one the
 * teardown's thaw writes.
 */
async function freezerEngaged(cg: NonNullable<StoredState["cgroup"]>, probe: Probe): Promise<boolean> {
  if (cg.version === 1) {
    if (!cg.paths["freezer"]) return false;
    const text = await probe.text(`${cg.paths["freezer"]}/freezer.state`);
    return text !== null && text.trim() !== "THAWED";
  }
  const text = await probe.text(`${v2DirOf(cg.paths)}/cgroup.freeze`);
  return text !== null && text.trim() !== "0";
}

/** A new pid namespace, not one joined by path. */
function ownsPidNamespace(spec: Spec | undefined): boolean {
  const ns = spec?.linux?.namespaces;
  if (!ns) return false;
  for (const n of ns) if (n.type === "pid" && !n.path) return true;
  return false;
}
