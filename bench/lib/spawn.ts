// Timing one runtime invocation. The container inherits the runtime's stdio, so output
// goes to a file: a pipe would stay open as long as the container lives and stall the read.
import { closeSync, ftruncateSync, openSync, readFileSync } from "node:fs";

export interface Timed {
  ms: number;
  code: number;
  out: string;
  err: string;
}

export class LogFile {
  readonly fd: number;
  constructor(readonly path: string) {
    this.fd = openSync(path, "w+");
  }
  reset(): void {
    ftruncateSync(this.fd, 0);
  }
  text(): string {
    return readFileSync(this.path, "utf8");
  }
  close(): void {
    closeSync(this.fd);
  }
}

/** Runs argv to completion; stdout is captured through a pipe only when asked (no container inherits it). */
export function timed(argv: string[], log: LogFile, captureStdout = false): Timed {
  log.reset();
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: captureStdout ? "pipe" : log.fd, stderr: log.fd });
  const ms = performance.now() - t0;
  const out = captureStdout ? r.stdout?.toString() ?? "" : "";
  const code = r.exitCode ?? (r.signalCode ? 128 : 1);
  const err = code === 0 ? "" : log.text().trim().split("\n").slice(-3).join(" | ");
  return { ms, code, out, err };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
