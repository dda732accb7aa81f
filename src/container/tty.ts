// A foreground terminal without a console socket: the runtime itself relays between its
// stdio and the container's pty master, in raw mode so keys reach the container as typed.
import { createReadStream, createWriteStream, writeSync } from "node:fs";
import { isatty } from "node:tty";
import { close, copyWinsize } from "../native/libc";

/** How long output may pause before a slave that someone still holds open is given up. */
const IDLE_MS = 250;

export interface PtyRelay {
  /** Once the process has exited: the rest of its output, then the terminal back as it was. */
  finish(): Promise<void>;
}

export function relayPty(master: number): PtyRelay {
  // The pty takes the size of the terminal we run on, now and whenever it changes; the
  // kernel then tells the container's foreground processes with a SIGWINCH of its own.
  const host = [0, 1, 2].find((fd) => isatty(fd));
  const resize = () => {
    if (host !== undefined) copyWinsize(host, master);
  };
  resize();
  process.on("SIGWINCH", resize);

  const stdin = process.stdin;
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (stdin.isTTY) stdin.setRawMode(true);

  let lastData = Date.now();
  let gone!: () => void;
  const slaveGone = new Promise<void>((r) => (gone = r));
  const out = createReadStream("", { fd: master, autoClose: false });
  // Written synchronously: the runtime leaves by process.exit, which would drop queued
  // stream writes, and must (a read of the master may still be blocked in a thread).
  out.on("data", (d) => {
    lastData = Date.now();
    writeAll(1, d as Buffer);
  });
  // EIO: every slave fd is closed and the kernel has handed over all they wrote.
  out.on("error", () => gone());
  out.on("end", () => gone());
  const inp = createWriteStream("", { fd: master, autoClose: false });
  inp.on("error", () => {});
  stdin.on("data", (d) => inp.write(d));

  return {
    async finish() {
      // The process is reaped before its last output has necessarily reached the master
      // (the kernel moves it through a work queue): read on until EIO. A process it left
      // behind may still hold the slave, so output that has stopped ends the wait too.
      let idle = false;
      while (!idle) {
        const wait = lastData + IDLE_MS - Date.now();
        idle = await Promise.race([slaveGone.then(() => true), Bun.sleep(Math.max(wait, 0)).then(() => Date.now() - lastData >= IDLE_MS)]);
      }
      process.off("SIGWINCH", resize);
      if (stdin.isTTY) stdin.setRawMode(wasRaw);
      stdin.pause();
      out.destroy();
      close(master);
    },
  };
}

function writeAll(fd: number, data: Buffer): void {
  let off = 0;
  while (off < data.length) {
    try {
      off += writeSync(fd, data, off);
    } catch (e: any) {
      // A non-blocking stdout handed down to us: wait for room.
      if (e?.code === "EAGAIN") Bun.sleepSync(1);
      else return; // stdout is gone: the output has nowhere to go
    }
  }
}
