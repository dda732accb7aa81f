// start: lets a created container's process run. Engines call it once per container, so
// it reads the state, /proc and the exec fifo through Bun and loads neither node:fs nor
// koffi unless something fails.
import { debug, debugOn } from "../log";
import type { Spec } from "../spec/types";
import { RuntimeError } from "../errors";
import type { Context } from "../context";
import type { StoredState } from "../state/store";
import { hookState, liveProcess, load, processAlive } from "../state/status";
import { bunProbe } from "../state/probe";

export const ALREADY_RUNNING = "cannot start an already running container";

/**
 * Opens the exec fifo's read side: the init, blocked in open(O_WRONLY), writes "W", runs
 * the startContainer hooks and its last setup, then execs. The fifo closes on execve
 * (EOF = started) or carries "E<message>" when something failed on the way.
 */
export async function start(ctx: Context, id: string): Promise<StoredState> {
  const { st, status } = await load(ctx.store, id, bunProbe);
  if (status !== "created") {
    if (status === "stopped") throw new RuntimeError(`cannot start a container that has stopped`);
    if (status === "running" || status === "paused") throw new RuntimeError(ALREADY_RUNNING);
    throw new RuntimeError(`cannot start a container in the ${status} state`);
  }
  requireProcess(st);
  const fifo = ctx.store.fifo(id);
  if (debugOn) debug(`start: opening ${fifo} for pid ${st.pid}`);
  return finishStart(ctx, st, await readStartReport(fifo, st));
}

/** config.md: process is REQUIRED at start, not at create. */
export function requireProcess(st: StoredState): void {
  if (!(st.config as Spec).process) throw new RuntimeError("cannot start a container without a process (config.json has none)");
}

/** After the init's report (what followed its "W"): the fifo goes, then poststart. */
export async function finishStart(ctx: Context, st: StoredState, got: string, hookCwd?: string): Promise<StoredState> {
  const fifo = ctx.store.fifo(st.id);
  const failed = got.startsWith("E") ? got.slice(1).trim() : "";
  // The fifo's absence is what says "started" (status.ts), so the state file is left
  // alone. Only a fifo that cannot be removed needs the flag written, or the container
  // would read as created forever.
  try {
    await Bun.file(fifo).delete();
  } catch (e: any) {
    if (e?.code !== "ENOENT") {
      st.started = true;
      ctx.store.write(st);
    }
  }
  st.status = "running";
  if (failed) throw new RuntimeError(failed);
  const poststart = (st.config as Spec).hooks?.poststart;
  if (poststart?.length) {
    const { runHooks } = require("../hooks/run") as typeof import("../hooks/run");
    try {
      runHooks("poststart", poststart, hookState(st, "running"), hookCwd);
    } catch (e) {
      // runtime.md: a failed poststart hook stops the container; delete finishes the job.
      if (await processAlive(bunProbe, st.pid, st.startTime))
        (require("../process/reap") as typeof import("../process/reap")).killAndWait(st.pid);
      throw e;
    }
  }
  return st;
}

/**
 * What the init writes to the fifo, "W" first, read until its exec closes the fifo.
 * Bun's read ends when the last writer hangs up, which it does not always see: a
 * reader that opened the fifo before the init did, or beside other starts, can wait
 * on. So a watchdog watches the init instead and ends the read once it has exec'd
 * (its name is no longer the stub's: the report is complete), has died, or its fifo
 * is gone (another start let it run).
 */
async function readStartReport(fifo: string, st: StoredState): Promise<string> {
  const reader = fifoReader(fifo);
  let gaveUp = "";
  let checking = false;
  // Acting only on what two checks in a row see leaves a read that is about to end
  // (the data and the hangup already on their way) the time to end by itself.
  let seen = "";
  const watchdog = setInterval(async () => {
    if (checking) return;
    checking = true;
    try {
      const init = await liveProcess(bunProbe, st.pid, st.startTime);
      let now = "";
      if (!init) now = "container init exited before it could be started";
      else if (init.comm !== "dx-init") now = "exec'd";
      else if (!(await Bun.file(fifo).exists())) now = ALREADY_RUNNING;
      if (now && now === seen) {
        if (now !== "exec'd") gaveUp = now;
        await reader.cancel().catch(() => {});
      }
      seen = now;
    } finally {
      checking = false;
    }
  }, 10);
  const dec = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value, { stream: true });
    }
  } catch (e: any) {
    throw new RuntimeError(`read exec fifo ${fifo}: ${e?.code ?? e?.message}`);
  } finally {
    clearInterval(watchdog);
  }
  if (text.startsWith("W")) return text.slice(1);
  if (gaveUp) throw new RuntimeError(gaveUp);
  // The fifo hung up without a word: its writer was gone, or it wrote to another start.
  if (!(await processAlive(bunProbe, st.pid, st.startTime))) throw new RuntimeError("container init exited before it could be started");
  throw new RuntimeError(ALREADY_RUNNING);
}

function fifoReader(fifo: string) {
  try {
    return Bun.file(fifo).stream().getReader();
  } catch (e: any) {
    // Gone since the status was read: another start has let the container run.
    if (e?.code === "ENOENT") throw new RuntimeError(ALREADY_RUNNING);
    throw new RuntimeError(`open exec fifo ${fifo}: ${e?.code ?? e?.message}`);
  }
}
