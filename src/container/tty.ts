// A foreground terminal without a console socket: the runtime itself relays between its
// stdio and the container's pty master, in raw mode so keys reach the container as typed.
import { createReadStream, createWriteStream } from "node:fs";
import { close } from "../native/libc";
import { usesStreams } from "../cli/output";

export function relayPty(master: number): () => void {
  usesStreams();
  const stdin = process.stdin;
  const wasRaw = stdin.isTTY ? stdin.isRaw : false;
  if (stdin.isTTY) stdin.setRawMode(true);
  const out = createReadStream("", { fd: master, autoClose: false });
  out.on("data", (d) => process.stdout.write(d));
  out.on("error", () => {});
  const inp = createWriteStream("", { fd: master, autoClose: false });
  inp.on("error", () => {});
  stdin.on("data", (d) => inp.write(d));
  return () => {
    if (stdin.isTTY) stdin.setRawMode(wasRaw);
    stdin.pause();
    out.destroy();
    close(master);
  };
}
