// run: create + start, and in the foreground wait for the init (its stub parent mirrors
// the exit status), forwarding signals and, for a terminal, the pty.
import { closeSync, constants, openSync, readSync } from "node:fs";
import type { Context } from "../context";
import { RuntimeError } from "../errors";
import { create, type Created, type CreateOptions } from "./create";
import { destroy } from "./destroy";
import { ALREADY_RUNNING, finishStart, requireProcess } from "./start";
import { relayPty } from "./tty";
import { forwardSignals } from "../process/forward";
import { closeStub, stubError } from "../native/stub";
import { Msg } from "../native/protocol";
import { processAlive } from "../state/status";
import { fsProbe } from "../state/probe";

export async function runContainer(ctx: Context, o: CreateOptions, keep = false): Promise<number> {
  const c = await create(ctx, o);
  try {
    await startOwn(ctx, c);
  } catch (e) {
    await destroy(ctx, ctx.store.read(o.id), c.st.bundle);
    closeStub(c.stub);
    throw e;
  }
  if (!o.foreground) {
    await c.proc.exited;
    closeStub(c.stub);
    return 0;
  }
  const pid = c.st.pid;
  const stopForwarding = forwardSignals(pid);
  const pty = c.ptyMaster >= 0 ? relayPty(c.ptyMaster) : undefined;
  const code = await c.proc.exited;
  stopForwarding();
  await pty?.finish();
  closeStub(c.stub);
  // --keep: the stopped container stays for state, ps and delete, as runc leaves it.
  if (!keep) {
    try {
      await destroy(ctx, ctx.store.read(o.id), c.st.bundle);
    } catch (e: any) {
      ctx.log.warn(`delete after run: ${e.message}`);
    }
  }
  return code ?? 1;
}

/**
 * start, for the container this process has just created. It needs no state to read,
 * and no watchdog on the fifo: the init's copy of ctl (the stub parent has closed or
 * dropped its own) hangs up exactly when the init has exec'd or died, and by then the
 * whole report is in the fifo.
 */
async function startOwn(ctx: Context, c: Created): Promise<void> {
  requireProcess(c.st);
  const fifo = ctx.store.fifo(c.st.id);
  // Opening the read side lets the init's open for writing through.
  const fd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  let report = "";
  try {
    for (;;) {
      const m = await c.stub.ch.recv();
      if (!m) break;
      if (m.type === Msg.ERROR) throw stubError(m);
    }
    const buf = Buffer.alloc(4096);
    for (;;) {
      let n = 0;
      try {
        n = readSync(fd, buf);
      } catch (e: any) {
        if (e?.code !== "EAGAIN") throw e;
      }
      if (n <= 0) break;
      report += buf.toString("utf8", 0, n);
    }
  } finally {
    closeSync(fd);
  }
  // No word at all: the init died before it reached the fifo, or another start took it.
  if (!report.startsWith("W"))
    throw new RuntimeError((await processAlive(fsProbe, c.st.pid, c.st.startTime)) ? ALREADY_RUNNING : "container init exited before it could be started");
  // run changes into the bundle as runc does: poststart runs from there.
  await finishStart(ctx, c.st, report.slice(1), c.st.bundle);
}
