// start and delete: the operations that end a container's waiting and its life. Engines
// call them once per container, so their common paths load neither koffi nor the cgroup,
// hook or mount code: only what the container's state says is needed. (kill is in
// kill.ts: it needs no node:fs at all.)
import { closeSync, constants, existsSync, openSync, readSync, unlinkSync } from "node:fs";
import type { Spec } from "../spec/types";
import { RuntimeError } from "../cli/errors";
import type { Context } from "../cli/context";
import { validateId, type StoredState } from "../state/store";
import { hookState, load } from "../state/status";
import { fsProbe } from "../state/probe";
import { isAlive } from "../state/proc";
import { cgroupOf } from "./cgroup";

type Hooks = typeof import("../hooks/run");

/**
 * Opens the exec fifo's read side: the init, blocked in open(O_WRONLY), writes "W", runs
 * the startContainer hooks and its last setup, then execs. The fifo closes on execve
 * (EOF = started) or carries "E<message>" when something failed on the way.
 */
export async function start(ctx: Context, id: string): Promise<StoredState> {
  const { st, status } = await load(ctx.store, id, fsProbe);
  if (status !== "created") {
    if (status === "stopped") throw new RuntimeError(`cannot start a container that has stopped`);
    if (status === "running" || status === "paused") throw new RuntimeError(`cannot start an already running container`);
    throw new RuntimeError(`cannot start a container in the ${status} state`);
  }
  if (!(st.config as Spec).process) throw new RuntimeError("cannot start a container without a process (config.json has none)");
  const fifo = ctx.store.fifo(id);
  let fd: number;
  try {
    fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK | 0o2000000 /* O_CLOEXEC */);
  } catch (e: any) {
    throw new RuntimeError(`open exec fifo ${fifo}: ${e.code ?? e.message}`);
  }
  let got: string;
  try {
    got = await readStartReport(fd, st);
  } finally {
    closeSync(fd);
  }
  const failed = got.startsWith("E") ? got.slice(1).trim() : "";
  // The fifo's absence is what says "started" (status.ts), so the state file is left
  // alone: rewriting it cost start ~0.4 ms. Only a fifo that cannot be removed needs
  // the flag written, or the container would read as created forever.
  try {
    unlinkSync(fifo);
  } catch (e: any) {
    if (e?.code !== "ENOENT") {
      st.started = true;
      ctx.store.write(st);
    }
  }
  st.status = "running";
  if (failed) throw new RuntimeError(failed.startsWith("hook ") ? `startContainer ${failed}` : failed);
  const poststart = (st.config as Spec).hooks?.poststart;
  if (poststart?.length) {
    const { runHooks } = require("../hooks/run") as Hooks;
    try {
      runHooks("poststart", poststart, hookState(st, "running"));
    } catch (e) {
      // runtime.md: a failed poststart hook stops the container; delete finishes the job.
      killAndWait(st.pid, st.startTime);
      throw e;
    }
  }
  return st;
}

/**
 * Everything the init writes after the "W" that says it came. The fd is non-blocking, so
 * an empty read before "W" means "not there yet" and one after it means EOF. The wait
 * yields to the event loop, spinning for the first millisecond (the init usually execs
 * within it) and backing off after, and notices an init that died without coming.
 */
async function readStartReport(fd: number, st: StoredState): Promise<string> {
  const buf = new Uint8Array(4096);
  const dec = new TextDecoder();
  let text = "";
  let came = false;
  const t0 = performance.now();
  for (let round = 0; ; round++) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e: any) {
      if (e.code !== "EAGAIN") throw new RuntimeError(`read exec fifo: ${e.code ?? e.message}`);
      n = -1;
    }
    if (n > 0) {
      text += dec.decode(buf.subarray(0, n), { stream: true });
      if (!came) {
        came = true;
        text = text.slice(1);
      }
      continue;
    }
    if (n === 0 && came) return text;
    if (!came && round % 8 === 7 && !isAlive(st.pid, st.startTime))
      throw new RuntimeError("container init exited before it could be started");
    const waited = performance.now() - t0;
    await (waited < 1 ? new Promise((r) => setImmediate(r)) : Bun.sleep(waited < 50 ? 1 : 10));
  }
}

export async function remove(ctx: Context, id: string, force: boolean): Promise<void> {
  validateId(id);
  if (!ctx.store.exists(id)) {
    if (force) return;
    throw new RuntimeError(`container ${id} does not exist`);
  }
  const { st, status } = await load(ctx.store, id, fsProbe);
  // "stopped" is final: no create, start or exec can bring it back, so deleting it needs
  // no lock. Anything alive is taken under the lock that create holds while it works.
  if (status === "stopped") return destroy(ctx, st);
  const release = ctx.store.lock(id);
  try {
    const { st, status } = await load(ctx.store, id, fsProbe);
    if ((status === "running" || status === "paused" || status === "creating") && !force)
      throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
    destroy(ctx, st);
  } finally {
    release();
  }
}

/** Undoes create: every process of the container, its cgroup, its state; then poststop. */
export function destroy(ctx: Context, st: StoredState): void {
  const cg = cgroupOf(st);
  if (cg && st.cgroup?.version === 1) {
    // Frozen tasks do not die until thawed.
    try {
      cg.thaw();
    } catch {}
  }
  if (st.pid) killAndWait(st.pid, st.startTime);
  if (st.creator) killAndWait(st.creator.pid, st.creator.startTime);
  if (cg) {
    try {
      cg.thaw();
    } catch {}
    for (let round = 0; round < 3; round++) {
      let pids: number[] = [];
      try {
        pids = cg.pids();
      } catch {}
      if (!pids.length) break;
      for (const p of pids) killAndWait(p);
    }
    try {
      cg.destroy();
    } catch (e: any) {
      ctx.log.warn(`remove cgroup: ${e.message}`);
    }
  }
  const spec = st.config as Spec;
  if (st.rootfs) {
    // Cheap to load, and a no-op unless the container shared the host's mount namespace.
    const { releaseHostMounts } = require("../mounts/release") as typeof import("../mounts/release");
    releaseHostMounts(st.rootfs, spec, (m) => ctx.log.warn(m));
  }
  const fifo = ctx.store.fifo(st.id);
  if (existsSync(fifo)) {
    try {
      unlinkSync(fifo);
    } catch {}
  }
  ctx.store.remove(st.id);
  if (st.bundle && spec?.hooks?.poststop?.length) {
    const { runHooksWarn } = require("../hooks/run") as Hooks;
    runHooksWarn("poststop", spec.hooks.poststop, hookState(st, "stopped"), (m) => ctx.log.warn(m));
  }
}

/**
 * SIGKILL to a process that is still the one recorded (start time), and wait until it is
 * gone. A process already gone or a zombie costs one read of /proc; only a live one loads
 * the pidfd path, which waits for the exit without polling.
 */
function killAndWait(pid: number, startTime = 0): void {
  if (isAlive(pid, startTime)) (require("../process/reap") as typeof import("../process/reap")).killAndWait(pid);
}
