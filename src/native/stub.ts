// Starting dx-init and talking to it over the ctl socket (native/PROTOCOL.md).
import type { Subprocess } from "bun";
import { readFileSync } from "node:fs";
import { Msg, OpName } from "./protocol";
import {
  close,
  getpid,
  pollIn,
  recvWithFd,
  sealedMemfd,
  sendPacket,
  socketpairSeqpacket,
  strerror,
} from "./libc";
// Embedded in the compiled binary; a plain path when run from source.
import stubPath from "../../native/build/dx-init" with { type: "file" };

export class StubError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly op: number,
  ) {
    super(message);
  }
}

export interface Stub {
  proc: Subprocess;
  ctl: number;
  /** the stub's own memfd, kept until the stub has exec'd */
  exeFd: number;
}

let stubBytes: Uint8Array | undefined;

/**
 * Runs dx-init from a sealed memfd: the image a container can reach through
 * /proc/PID/exe is then a copy nothing can write to (CVE-2019-5736).
 */
export function launchStub(plan: Uint8Array, opts: { stdio: (number | "inherit" | "ignore")[]; preserveFds: number; env?: Record<string, string> }): Stub {
  stubBytes ??= readStub();
  const exeFd = sealedMemfd("dx-init", stubBytes);
  const planFd = sealedMemfd("dx-plan", plan);
  const [mine, theirs] = socketpairSeqpacket();
  const stdio: (number | "inherit" | "ignore")[] = [...opts.stdio];
  for (let i = 0; i < opts.preserveFds; i++) stdio.push(3 + i);
  const ctlSlot = stdio.length;
  stdio.push(theirs);
  const planSlot = stdio.length;
  stdio.push(planFd);
  let proc: Subprocess;
  try {
    proc = Bun.spawn([`/proc/${getpid()}/fd/${exeFd}`, `ctl=${ctlSlot}`, `plan=${planSlot}`], {
      argv0: "dx-init",
      stdio: stdio as any,
      env: opts.env ?? {},
      cwd: "/",
    });
  } finally {
    close(theirs);
    close(planFd);
  }
  return { proc, ctl: mine, exeFd };
}

function readStub(): Uint8Array {
  try {
    return readFileSync(stubPath);
  } catch (e: any) {
    throw new Error(`cannot read the init stub ${stubPath}: ${e.message} (run \`make -C native\`)`);
  }
}

export interface Message {
  type: number;
  payload: Uint8Array;
  fd: number;
}

/** Next message from the stub, or null when every copy of its end is closed. */
export function recvMessage(ctl: number, timeoutMs = -1): Message | null {
  if (timeoutMs >= 0 && !pollIn(ctl, timeoutMs)) throw new Error("timed out waiting for the container init");
  const r = recvWithFd(ctl, 65536);
  if (!r) return null;
  if (r.data.length < 4) return { type: 0, payload: r.data, fd: r.fd };
  const dv = new DataView(r.data.buffer, r.data.byteOffset, r.data.byteLength);
  return { type: dv.getUint32(0, true), payload: r.data.subarray(4), fd: r.fd };
}

export function sendGo(ctl: number, stateJson: string): void {
  const body = new TextEncoder().encode(stateJson);
  const msg = new Uint8Array(4 + body.length);
  new DataView(msg.buffer).setUint32(0, Msg.GO, true);
  msg.set(body, 4);
  sendPacket(ctl, msg);
}

export function stubError(m: Message): StubError {
  const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const errno = m.payload.length >= 4 ? dv.getInt32(0, true) : 0;
  const op = m.payload.length >= 8 ? dv.getUint32(4, true) : 0;
  let text = new TextDecoder().decode(m.payload.subarray(8));
  const nul = text.indexOf("\0");
  if (nul >= 0) text = text.slice(0, nul);
  if (!text) text = OpName[op] ?? `step ${op}`;
  return new StubError(errno ? `${text}: ${strerror(errno)}` : text, errno, op);
}

export function pidOf(m: Message): number {
  return new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).getUint32(0, true);
}

export function closeStub(s: Stub): void {
  close(s.ctl);
  close(s.exeFd);
}
