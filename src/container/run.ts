// run: create + start, and in the foreground wait for the init (its stub parent mirrors
// the exit status), forwarding signals and, for a terminal, the pty.
import type { Context } from "../cli/context";
import { create, type CreateOptions } from "./create";
import { destroy, start } from "./lifecycle";
import { kill as killPid } from "../native/libc";
import { relayPty } from "./tty";
import { closeStub, recvMessage, stubError } from "../native/stub";
import { Msg } from "../native/protocol";

const FORWARDED = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH"] as const;
const SIGNUM: Record<string, number> = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGWINCH: 28 };

export async function runContainer(ctx: Context, o: CreateOptions): Promise<number> {
  const c = create(ctx, o);
  try {
    start(ctx, o.id);
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
  const handlers: [string, () => void][] = [];
  for (const s of FORWARDED) {
    const h = () => void killPid(pid, SIGNUM[s]!);
    process.on(s, h);
    handlers.push([s, h]);
  }
  let restore: (() => void) | undefined;
  if (c.ptyMaster >= 0) restore = relayPty(c.ptyMaster);
  const code = await c.proc.exited;
  for (const [s, h] of handlers) process.off(s, h);
  restore?.();
  closeStub(c.stub);
  try {
    destroy(ctx, ctx.store.read(o.id));
  } catch (e: any) {
    ctx.log.warn(`delete after run: ${e.message}`);
  }
  return code ?? 1;
}
