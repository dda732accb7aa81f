// runc-style logging: --log FILE (default stderr) and --log-format text|json. containerd
// reads the JSON lines' "level" and "msg" to say why a command failed.
import { err } from "./output";

export type Level = "debug" | "info" | "warning" | "error";

export interface LogOptions {
  file?: string;
  format: "text" | "json";
  debug: boolean;
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
