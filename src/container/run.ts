// run: create + start, and in the foreground wait for the init (its stub parent mirrors
// the exit status), forwarding signals and, for a terminal, the pty.
import type { Context } from "../cli/context";
import { create, type CreateOptions } from "./create";
import { destroy } from "./destroy";
import { start } from "./start";
import { relayPty } from "./tty";
import { forwardSignals } from "../process/forward";
import { closeStub, recvMessage, stubError } from "../native/stub";
import { Msg } from "../native/protocol";

export async function runContainer(ctx: Context, o: CreateOptions): Promise<number> {
  const c = create(ctx, o);
  try {
    await start(ctx, o.id);
  } catch (e) {
    destroy(ctx, ctx.store.read(o.id));
    closeStub(c.stub);
    throw e;
  }
  if (!o.foreground) {
    await c.proc.exited;
    closeStub(c.stub);
    return 0;
  }
  // The init's copy of ctl closes on a successful execve; an error before it comes here.
  for (;;) {
    const m = recvMessage(c.stub.ctl);
    if (!m) break;
    if (m.type === Msg.ERROR) {
      ctx.log.error(stubError(m).message);
      break;
    }
  }
  const pid = c.st.pid;
  const stopForwarding = forwardSignals(pid);
  let restore: (() => void) | undefined;
  if (c.ptyMaster >= 0) restore = relayPty(c.ptyMaster);
  const code = await c.proc.exited;
  stopForwarding();
  restore?.();
  closeStub(c.stub);
  try {
    destroy(ctx, ctx.store.read(o.id));
  } catch (e: any) {
    ctx.log.warn(`delete after run: ${e.message}`);
  }
  return code ?? 1;
}
