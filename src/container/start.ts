// start: lets a created container's process run. Engines call it once per container, so
// it reads the state, /proc and the exec fifo through Bun and loads neither node:fs nor
// koffi unless something fails.
import type { Spec } from "../spec/types";
import { RuntimeError } from "../cli/errors";
import type { Context } from "../cli/context";
import type { StoredState } from "../state/store";
import { hookState, load, processAlive } from "../state/status";
import { bunProbe } from "../state/probe";

const ALREADY_RUNNING = "cannot start an already running container";

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
  if (!(st.config as Spec).process) throw new RuntimeError("cannot start a container without a process (config.json has none)");
  const fifo = ctx.store.fifo(id);
  const got = await readStartReport(fifo, st);
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
  if (failed) throw new RuntimeError(failed.startsWith("hook ") ? `startContainer ${failed}` : failed);
  const poststart = (st.config as Spec).hooks?.poststart;
  if (poststart?.length) {
    const { runHooks } = require("../hooks/run") as typeof import("../hooks/run");
    try {
      runHooks("poststart", poststart, hookState(st, "running"));
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
 * Bun's read ends when the last writer hangs up; a writer that never opened the fifo
 * after we did (an init that is gone, or one another start has already let run) never
 * hangs up, so a watchdog gives the read up for those.
 */
async function readStartReport(fifo: string, st: StoredState): Promise<string> {
  const reader = Bun.file(fifo).stream().getReader();
  let gaveUp = "";
  let checking = false;
  const watchdog = setInterval(async () => {
    if (checking) return;
    checking = true;
    try {
      if (!(await processAlive(bunProbe, st.pid, st.startTime))) gaveUp = "container init exited before it could be started";
      else if (!(await Bun.file(fifo).exists())) gaveUp = ALREADY_RUNNING;
      if (gaveUp) await reader.cancel().catch(() => {});
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
