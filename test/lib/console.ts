// Drives test/lib/console-receiver.py: the engine side of --console-socket.
import fs from "node:fs";
import path from "node:path";
import { scratchDir } from "./bundle";
import { waitFor } from "./runtime";

const RECEIVER = path.join(import.meta.dir, "console-receiver.py");

export interface ConsoleReceiver {
  socket: string;
  /** Resolves once the runtime has handed over the pty master. */
  received(): Promise<void>;
  /** Waits for the receiver to finish (the pty closed) and returns what the container wrote. */
  done(timeoutMs?: number): Promise<{ code: number; output: string; stderr: string }>;
  /** What has been relayed so far. */
  output(): string;
  stop(): Promise<void>;
}

export async function consoleReceiver(opts: { send?: string; timeoutS?: number } = {}): Promise<ConsoleReceiver> {
  const dir = scratchDir("con");
  const socket = path.join(dir, "c.sock");
  const outFile = path.join(dir, "out");
  const errFile = path.join(dir, "err");
  const out = fs.openSync(outFile, "w");
  const err = fs.openSync(errFile, "w");
  const args = [RECEIVER, socket, "--timeout", String(opts.timeoutS ?? 30)];
  if (opts.send !== undefined) args.push("--send", opts.send);
  const p = Bun.spawn({ cmd: ["python3", ...args], cwd: dir, stdio: ["ignore", out, err] });
  fs.closeSync(out);
  fs.closeSync(err);
  const read = (f: string) => {
    try {
      return fs.readFileSync(f, "utf8");
    } catch {
      return "";
    }
  };
  await waitFor(() => read(errFile).includes("ready") || p.exitCode !== null, { what: "console receiver to listen" });
  if (p.exitCode !== null) throw new Error(`console receiver failed: ${read(errFile)}`);
  return {
    socket,
    async received() {
      await waitFor(() => read(errFile).includes("received"), { what: "the pty master on the console socket" });
    },
    async done(timeoutMs = 20_000) {
      const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
      const code = await p.exited;
      clearTimeout(timer);
      // A pty turns \n into \r\n; tests compare lines.
      return { code, output: read(outFile).replace(/\r\n/g, "\n"), stderr: read(errFile) };
    },
    output: () => read(outFile).replace(/\r\n/g, "\n"),
    async stop() {
      if (p.exitCode === null) p.kill("SIGKILL");
      await p.exited;
    },
  };
}
