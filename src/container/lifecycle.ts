// start, kill, delete: the operations on a container that already exists.
import { existsSync, unlinkSync } from "node:fs";
import type { Spec } from "../spec/types";
import { RuntimeError } from "../cli/errors";
import type { Context } from "../cli/context";
import { validateId, type StoredState } from "../state/store";
import { hookState, liveStatus, type Status } from "../state/status";
import { procStat } from "../state/proc";
import { O_CLOEXEC, O_NONBLOCK, O_RDONLY, close, pidfdOpen, pidfdSendSignal, pollIn, readFd, tryOpen, strerror } from "../native/libc";
import { runHooks, runHooksWarn } from "../hooks/run";
import { loadCgroup } from "../cgroups";
import { killAndWait } from "../process/reap";
import { releaseHostMounts } from "../mounts/release";

export function load(ctx: Context, id: string): { st: StoredState; status: Status } {
  validateId(id);
  const st = ctx.store.read(id);
  return { st, status: liveStatus(ctx.store, st) };
}

/** Opens the exec fifo's read side: the blocked init's open(O_WRONLY) returns, it writes one byte and goes on. */
export function start(ctx: Context, id: string): StoredState {
  validateId(id);
  if (!ctx.store.exists(id)) throw new RuntimeError(`container ${id} does not exist`);
  return ctx.store.withLock(id, () => {
    const { st, status } = load(ctx, id);
    if (status !== "created") {
      if (status === "stopped") throw new RuntimeError(`cannot start a container that has stopped`);
      if (status === "running" || status === "paused") throw new RuntimeError(`cannot start an already running container`);
      throw new RuntimeError(`cannot start a container in the ${status} state`);
    }
    if (!(st.config as Spec).process) throw new RuntimeError("cannot start a container without a process (config.json has none)");
    // The pidfd first: once the fifo is open the init may exec and exit at once.
    let pidfd: number;
    try {
      pidfd = pidfdOpen(st.pid);
    } catch {
      throw new RuntimeError("cannot start a container that has stopped");
    }
    const fifo = ctx.store.fifo(id);
    const fd = tryOpen(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      close(pidfd);
      throw new RuntimeError(`open exec fifo ${fifo}: ${strerror(-fd)}`);
    }
    // The init opens the write side once we hold the read side, runs the startContainer
    // hooks and its last setup, then execs: the fifo closes on execve (EOF = started),
    // or carries "E<message>" when something failed on the way.
    let got = "";
    try {
      for (;;) {
        // A fifo polls as hung up only after a writer came and went, so EOF here is real.
        if (pollIn(fd, 50)) {
          const b = readFd(fd, 4096);
          if (b === null) continue;
          if (b.length === 0) break;
          got += new TextDecoder().decode(b);
          continue;
        }
        if (pollIn(pidfd, 0)) {
          // Gone: drain what it may have written first.
          const b = readFd(fd, 4096);
          if (b && b.length) got += new TextDecoder().decode(b);
          if (!got) throw new RuntimeError("container init exited before it could be started");
          break;
        }
      }
    } finally {
      close(fd);
      close(pidfd);
    }
    const failed = got.startsWith("E") ? got.slice(1).trim() : "";
    try {
      unlinkSync(fifo);
    } catch {}
    st.started = true;
    st.status = "running";
    ctx.store.write(st);
    if (failed) throw new RuntimeError(failed.startsWith("hook ") ? `startContainer ${failed}` : failed);
    const spec = st.config as Spec;
    try {
      runHooks("poststart", spec.hooks?.poststart, hookState(st, "running"));
    } catch (e) {
      // runtime.md: a failed poststart hook stops the container; delete finishes the job.
      killAndWait(st.pid);
      throw e;
    }
    return st;
  });
}

export function kill(ctx: Context, id: string, sig: number, all: boolean): void {
  const { st, status } = load(ctx, id);
  if (status === "stopped" && all && st.cgroup) {
    // As runc does: once init has exited, --all still reaches what is left in the cgroup.
    // containerd's shim sends it to clean up after an init that shared a pid namespace.
    try {
      loadCgroup(st.cgroup.version, st.cgroup.paths).killAll(sig);
    } catch {
      // The cgroup is gone, and with it every process: nothing left to signal.
    }
    return;
  }
  if (status !== "created" && status !== "running" && status !== "paused")
    // go-runc users (containerd's shim) match "container not running" to tell an exited
    // container from a failed kill.
    throw new RuntimeError(`container not running: ${id} (status ${status})`);
  if (all && st.cgroup) {
    loadCgroup(st.cgroup.version, st.cgroup.paths).killAll(sig);
    return;
  }
  signalPid(id, st.pid, sig, st.startTime);
}

/** Signals through a pidfd, having checked that the pid is still the process recorded. */
function signalPid(id: string, pid: number, sig: number, startTime: number): void {
  // Exiting between the status check and here is still "not running" to an engine.
  const gone = () => new RuntimeError(`container not running: ${id} (process ${pid} has exited)`);
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    throw gone();
  }
  try {
    if (startTime && procStat(pid)?.startTime !== startTime) throw gone();
    pidfdSendSignal(fd, sig);
  } catch (e: any) {
    if (e instanceof RuntimeError) throw e;
    if (e?.errno === 3 /* ESRCH */) throw gone();
    throw new RuntimeError(`signal ${sig} to ${pid}: ${e.message}`);
  } finally {
    close(fd);
  }
}

export function remove(ctx: Context, id: string, force: boolean): void {
  validateId(id);
  if (!ctx.store.exists(id)) {
    if (force) return;
    throw new RuntimeError(`container ${id} does not exist`);
  }
  ctx.store.withLock(id, () => {
    const { st, status } = load(ctx, id);
    if ((status === "running" || status === "paused" || status === "creating") && !force)
      throw new RuntimeError(`cannot delete container ${id} that is not stopped: ${status}`);
    destroy(ctx, st);
  });
}

/** Undoes create: every process of the container, its cgroup, its state; then poststop. */
export function destroy(ctx: Context, st: StoredState): void {
  const cg = st.cgroup ? loadCgroup(st.cgroup.version, st.cgroup.paths) : undefined;
  if (cg && st.cgroup?.version === 1) {
    // Frozen tasks do not die until thawed.
    try {
      cg.thaw();
    } catch {}
  }
  if (st.pid && procStat(st.pid)?.startTime === st.startTime) killAndWait(st.pid);
  if (st.creator && procStat(st.creator.pid)?.startTime === st.creator.startTime) killAndWait(st.creator.pid);
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
  if (st.rootfs) releaseHostMounts(st.rootfs, st.config as Spec, (m) => ctx.log.warn(m));
  const fifo = ctx.store.fifo(st.id);
  if (existsSync(fifo)) {
    try {
      unlinkSync(fifo);
    } catch {}
  }
  ctx.store.remove(st.id);
  const spec = st.config as Spec;
  if (st.bundle) runHooksWarn("poststop", spec.hooks?.poststop, hookState(st, "stopped"), (m) => ctx.log.warn(m));
}
