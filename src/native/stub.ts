// Starting dx-init and talking to it over ctl (native/PROTOCOL.md): a unix stream socket
// from Bun.spawn, framed messages both ways. koffi is loaded only where the stub must
// hand back an fd (a pty master, a seccomp listener) or cannot be run from a file.
import type { Subprocess } from "bun";
import { closeSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { cacheDir } from "../state/cachedir";
import { debug, debugOn, debugSink } from "../log";
import { Msg, OpName } from "./protocol";
// Embedded in the compiled binary; a plain path when run from source.
import stubPath from "../../native/build/dx-init" with { type: "file" };

type Libc = typeof import("./libc");
const libc = () => require("./libc") as Libc;

export class StubError extends Error {
  constructor(
    message: string,
    readonly errno: number,
    readonly op: number,
  ) {
    super(message);
  }
}

export interface Message {
  type: number;
  payload: Uint8Array;
  /** an fd that came with the message (fd channels only), else -1 */
  fd: number;
}

/** ctl, from the runtime's side. recv gives null at EOF. */
export interface Channel {
  recv(): Promise<Message | null>;
  send(type: number, payload?: Uint8Array): Promise<void>;
  close(): void;
}

export interface Stub {
  proc: Subprocess;
  ch: Channel;
}

export interface LaunchOptions {
  stdio: (number | "inherit" | "ignore")[];
  preserveFds: number;
  /** flocked by the stub before anything else; the lock is this open file's (create) */
  lockFd?: number;
  /** the stub will pass fds back (a pty master, a seccomp listener) */
  fds?: boolean;
}

/**
 * Starts dx-init with ctl (and the lock fd) after stdio and the preserved fds. It copies
 * itself into a sealed memfd and execs that first: the image a container can reach
 * through /proc/PID/exe is then a copy nothing can write to (CVE-2019-5736).
 */
export function launchStub(o: LaunchOptions): Stub {
  const stdio: (number | "inherit" | "ignore" | "pipe")[] = [...o.stdio];
  for (let i = 0; i < o.preserveFds; i++) stdio.push(3 + i);
  const ctlSlot = stdio.length;
  stdio.push("pipe");
  const args = [`ctl=${ctlSlot}`];
  if (o.lockFd !== undefined) {
    args.push(`lock=${stdio.length}`);
    stdio.push(o.lockFd);
  }
  if (debugOn) {
    // The stub writes its own debug lines (each step) to the log, even after we are gone.
    const sink = debugSink();
    args.push(`log=${stdio.length}`, `logfmt=${sink.json ? "json" : "text"}`);
    stdio.push(sink.fd);
  }
  const proc = spawnStub(args, stdio);
  const fd = proc.stdio[ctlSlot] as unknown as number;
  return { proc, ch: o.fds ? fdChannel(fd) : bunChannel(fd) };
}

function spawnStub(args: string[], stdio: unknown[]): Subprocess {
  const opts = { argv0: "dx-init", stdio: stdio as any, env: {}, cwd: "/" };
  const exe = storedStub();
  if (exe) {
    try {
      if (debugOn) debug(`dx-init: starting ${exe} ${args.join(" ")}`);
      return Bun.spawn([exe, ...args], opts);
    } catch (e: any) {
      // A cache dir on a noexec mount, or a copy another version just replaced with its
      // own; anything else is a real failure.
      if (e?.code !== "EACCES" && e?.code !== "EPERM" && e?.code !== "ENOENT") throw e;
    }
  }
  const { close, sealedMemfd } = libc();
  const fd = sealedMemfd("dx-init", stubBytes());
  if (debugOn) debug(`dx-init: starting from a sealed memfd ${args.join(" ")}`);
  try {
    return Bun.spawn([`/proc/${process.pid}/fd/${fd}`, ...args], opts);
  } finally {
    close(fd);
  }
}

let bytes: Uint8Array | undefined;
function stubBytes(): Uint8Array {
  try {
    return (bytes ??= readFileSync(stubPath));
  } catch (e: any) {
    throw new Error(`cannot read the init stub ${stubPath}: ${e.message} (run \`make -C native\`)`);
  }
}

/**
 * The stub's copy in the runtime's cache dir (outside --root: see state/cachedir.ts),
 * named by its content, written once. The dir is one nobody else could have put it in
 * (ours, not group- or world-writable), and the file must be ours and as large as the
 * stub. Otherwise undefined (memfd instead).
 */
function storedStub(): string | undefined {
  const dir = cacheDir();
  if (!dir) return undefined;
  const b = stubBytes();
  const name = `dx-init-${Bun.hash(b).toString(36)}`;
  const path = `${dir}/${name}`;
  const uid = process.geteuid?.() ?? 0;
  try {
    let st = lstatSync(path, { throwIfNoEntry: false });
    if (!st) {
      const tmp = `${path}.${process.pid}`;
      try {
        writeFileSync(tmp, b, { mode: 0o500 });
        renameSync(tmp, path);
      } catch (e) {
        rmSync(tmp, { force: true });
        throw e;
      }
      st = lstatSync(path);
      // Copies of other versions go (a stub started from one runs on); not the
      // half-written ones of concurrent writers.
      for (const n of readdirSync(dir))
        if (n.startsWith("dx-init-") && !n.includes(".") && n !== name) rmSync(`${dir}/${n}`, { force: true });
    }
    return st.isFile() && st.uid === uid && (st.mode & 0o022) === 0 && st.size === b.length ? path : undefined;
  } catch {
    return undefined;
  }
}

/** u32 length of what follows, u32 type, payload. */
function frame(type: number, payload?: Uint8Array): Uint8Array {
  const n = payload?.length ?? 0;
  const f = new Uint8Array(8 + n);
  const dv = new DataView(f.buffer);
  dv.setUint32(0, 4 + n, true);
  dv.setUint32(4, type, true);
  if (payload) f.set(payload, 8);
  return f;
}

/** The usual channel: Bun reads and writes the (non-blocking) socket; no fds come back. */
function bunChannel(fd: number): Channel {
  let reader!: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
  let started = false;
  let buf = new Uint8Array(0);
  let ended = false;
  let sink: ReturnType<ReturnType<typeof Bun.file>["writer"]> | undefined;
  const more = async (): Promise<boolean> => {
    if (!started) {
      reader = Bun.file(fd).stream().getReader() as unknown as typeof reader;
      started = true;
    }
    try {
      const { done, value } = await reader.read();
      if (done || !value) return false;
      const next = new Uint8Array(buf.length + value.length);
      next.set(buf);
      next.set(value, buf.length);
      buf = next;
      return true;
    } catch (e: any) {
      // The peer went with our last message unread; what it sent before is already here.
      if (e?.code === "ECONNRESET") return false;
      throw e;
    }
  };
  return {
    async recv() {
      for (;;) {
        if (buf.length >= 8) {
          const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
          const n = dv.getUint32(0, true);
          if (n < 4) throw new Error(`bad frame of ${n} bytes from the container init`);
          if (buf.length >= 4 + n) {
            const m = { type: dv.getUint32(4, true), payload: buf.slice(8, 4 + n), fd: -1 };
            buf = buf.subarray(4 + n);
            if (m.type === Msg.PTY || m.type === Msg.SECCOMP_FD) throw new Error(`container init sent an fd (message ${m.type}) on a channel that takes none`);
            return m;
          }
        }
        if (ended || !(await more())) {
          ended = true;
          return null;
        }
      }
    },
    async send(type, payload) {
      const f = frame(type, payload);
      // Small frames go at once; the socket only fills up for a big plan.
      let off = 0;
      if (!sink) {
        try {
          off = writeSync(fd, f);
        } catch (e: any) {
          if (e?.code !== "EAGAIN") throw e;
        }
        if (off === f.length) return;
      }
      sink ??= Bun.file(fd).writer();
      sink.write(f.subarray(off));
      await sink.flush();
    },
    close() {
      if (started) reader.cancel().catch(() => {});
      try {
        closeSync(fd);
      } catch {}
    },
  };
}

const MSG_WAITALL = 0x100;

/** For a stub that passes fds back: blocking recvmsg through koffi. */
function fdChannel(fd: number): Channel {
  const { setBlocking, recvWithFd } = libc();
  setBlocking(fd);
  return {
    async recv() {
      // A passed fd rides on the first byte of its frame, so it comes with the header.
      const head = recvWithFd(fd, 8, MSG_WAITALL);
      if (!head || head.data.length < 8) {
        if (head?.fd !== undefined && head.fd >= 0) libc().close(head.fd);
        return null;
      }
      const dv = new DataView(head.data.buffer, head.data.byteOffset, 8);
      const n = dv.getUint32(0, true);
      if (n < 4) throw new Error(`bad frame of ${n} bytes from the container init`);
      const payload = new Uint8Array(n - 4);
      for (let off = 0; off < payload.length; ) {
        const r = recvWithFd(fd, payload.length - off, MSG_WAITALL);
        if (!r || !r.data.length) throw new Error("truncated message from the container init");
        if (r.fd >= 0) libc().close(r.fd);
        payload.set(r.data, off);
        off += r.data.length;
      }
      return { type: dv.getUint32(4, true), payload, fd: head.fd };
    },
    async send(type, payload) {
      const f = frame(type, payload);
      for (let off = 0; off < f.length; ) off += writeSync(fd, f, off);
    },
    close() {
      try {
        closeSync(fd);
      } catch {}
    },
  };
}

export function sendGo(s: Stub, stateJson: string): Promise<void> {
  return s.ch.send(Msg.GO, new TextEncoder().encode(stateJson));
}

export function stubError(m: Message): StubError {
  const dv = new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength);
  const errno = m.payload.length >= 4 ? dv.getInt32(0, true) : 0;
  const op = m.payload.length >= 8 ? dv.getUint32(4, true) : 0;
  let text = new TextDecoder().decode(m.payload.subarray(8));
  const nul = text.indexOf("\0");
  if (nul >= 0) text = text.slice(0, nul);
  if (!text) text = OpName[op] ?? `step ${op}`;
  return new StubError(errno ? `${text}: ${libc().strerror(errno)}` : text, errno, op);
}

export function pidOf(m: Message): number {
  return new DataView(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength).getUint32(0, true);
}

export function closeStub(s: Stub): void {
  s.ch.close();
}
