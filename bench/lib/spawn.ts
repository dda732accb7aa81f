// Timing one runtime invocation. The container inherits the runtime's stdio, so output
// goes to a file: a pipe would stay open as long as the container lives and stall the read.
import { closeSync, ftruncateSync, openSync, readFileSync } from "node:fs";

export interface Timed {
  ms: number;
  /** user + system CPU of the child (getrusage through wait4), ms */
  cpuMs: number;
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

/**
 * Runs argv to completion; stdout is captured through a pipe only when asked (no container
 * inherits it). `stdio`, an fd, replaces all three (an engine's fifos: the container keeps them).
 */
export function timed(argv: string[], log: LogFile, captureStdout = false, stdio?: number): Timed {
  log.reset();
  const t0 = performance.now();
  const r =
    stdio === undefined
      ? Bun.spawnSync(argv, { stdin: "ignore", stdout: captureStdout ? "pipe" : log.fd, stderr: log.fd })
      : Bun.spawnSync(argv, { stdin: stdio, stdout: captureStdout ? "pipe" : stdio, stderr: log.fd });
  const ms = performance.now() - t0;
  const cpuMs = Number(r.resourceUsage?.cpuTime.total ?? 0n) / 1000;
  const out = captureStdout ? r.stdout?.toString() ?? "" : "";
  const code = r.exitCode ?? (r.signalCode ? 128 : 1);
  const err = code === 0 ? "" : log.text().trim().split("\n").slice(-3).join(" | ");
  return { ms, cpuMs, code, out, err };
}

export interface Counted {
  code: number;
  minorFaults: number;
  taskClockMs: number;
  err: string;
}

/**
 * Runs argv under `perf stat` for its page faults and task-clock (every thread and
 * child it waits for). Untimed: perf's own start-up is not the command's.
 */
export function counted(argv: string[], log: LogFile, perfOut: string, stdio?: number): Counted {
  log.reset();
  const cmd = ["perf", "stat", "-x,", "-e", "minor-faults,task-clock", "-o", perfOut, "--", ...argv];
  const r =
    stdio === undefined
      ? Bun.spawnSync(cmd, { stdin: "ignore", stdout: log.fd, stderr: log.fd })
      : Bun.spawnSync(cmd, { stdin: stdio, stdout: stdio, stderr: log.fd });
  const code = r.exitCode ?? 1;
  let minorFaults = NaN;
  let taskClockMs = NaN;
  try {
    for (const line of readFileSync(perfOut, "utf8").split("\n")) {
      const f = line.split(",");
      if (f[2] === "minor-faults") minorFaults = Number(f[0]);
      else if (f[2] === "task-clock") taskClockMs = Number(f[0]);
    }
  } catch {}
  const err = code === 0 ? "" : log.text().trim().split("\n").slice(-3).join(" | ");
  return { code, minorFaults, taskClockMs, err };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
