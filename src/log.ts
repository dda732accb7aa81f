// runc-style logging: --log FILE (default stderr) and --log-format text|json. containerd
// reads the JSON lines' "level" and "msg" to say why a command failed.
//
// --debug: what the runtime does (the command's phases, cgroup paths, hooks) and, from
// dx-init, each plan step (native/PROTOCOL.md, "Debug log"), to the same place and in
// the same format. Off, a debug line costs one boolean test: callers on hot paths write
// `if (debugOn) debug(...)` so that not even the message is built.
import { err } from "./output";

export type Level = "debug" | "info" | "warning" | "error";

export interface LogOptions {
  file?: string;
  format: "text" | "json";
  debug: boolean;
}

/** --debug is on (set once the global flags are parsed). */
export let debugOn = false;
let current: Logger | undefined;

/** Makes `l` the logger of the free functions below; main calls it once the flags are known. */
export function useLogger(l: Logger): void {
  current = l;
  debugOn = l.opts.debug;
}

/** A debug line through the current logger (nothing unless --debug). */
export function debug(msg: string): void {
  if (debugOn) current!.debug(msg);
}

let debugFdCache: number | undefined;

/**
 * Where dx-init writes its own debug lines, as an fd to hand it: the --log file opened
 * for appending, or our stderr. Only asked for with --debug.
 */
export function debugSink(): { fd: number; json: boolean } {
  const o = current!.opts;
  if (debugFdCache === undefined) {
    debugFdCache = 2;
    if (o.file) {
      try {
        debugFdCache = (require("node:fs") as typeof import("node:fs")).openSync(o.file, "a", 0o644);
      } catch {}
    }
  }
  return { fd: debugFdCache, json: o.format === "json" };
}

export class Logger {
  constructor(readonly opts: LogOptions) {}

  line(level: Level, msg: string): string {
    const time = new Date().toISOString();
    if (this.opts.format === "json") return JSON.stringify({ level, msg, time }) + "\n";
    return `time="${time}" level=${level} msg=${JSON.stringify(msg)}\n`;
  }

  log(level: Level, msg: string): void {
    if (level === "debug" && !this.opts.debug) return;
    const text = this.line(level, msg);
    if (this.opts.file) {
      try {
        // node:fs only when a log file is asked for: most commands never log.
        (require("node:fs") as typeof import("node:fs")).appendFileSync(this.opts.file, text);
        return;
      } catch {}
    }
    if (level !== "error") err(text);
  }

  debug(msg: string): void {
    this.log("debug", msg);
  }
  warn(msg: string): void {
    this.log("warning", msg);
  }
  info(msg: string): void {
    this.log("info", msg);
  }

  /** The error line: once on stderr, once in the log for engines. With --log-format json
   * and no --log, stderr is the log, so it gets the JSON line (as runc's does). */
  error(msg: string): void {
    if (!this.opts.file && this.opts.format === "json") {
      err(this.line("error", msg));
      return;
    }
    err(`dx-runtime: ${msg}\n`);
    if (this.opts.file) this.log("error", msg);
  }
}
