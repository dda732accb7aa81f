// OOM notices for `events`, from the counters the kernel keeps per memory cgroup: v1
// memory.oom_control (oom_kill; under_oom for a cgroup whose OOM killer is disabled),
// v2 memory.events (oom_kill). runc waits on the same files (an eventfd on v1, inotify
// on v2); reading them at each tick of the events loop needs neither FFI nor a thread.

import { readOptional } from "./files";
import { v2DirOf } from "./teardown";

interface Reading {
  kills: number;
  under: boolean;
}

function field(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

export class OomWatch {
  private last: Reading | undefined;
  private readonly file: [string, string] | undefined;

  constructor(version: 1 | 2, paths: Record<string, string>) {
    if (version === 1) this.file = paths.memory ? [paths.memory, "memory.oom_control"] : undefined;
    else this.file = [v2DirOf(paths), "memory.events"];
    // What happened before the watch began is not news.
    this.last = this.read();
  }

  private read(): Reading | undefined {
    if (!this.file) return undefined;
    let text: string | undefined;
    try {
      text = readOptional(this.file[0], this.file[1]);
    } catch {
      return undefined;
    }
    if (text === undefined) return undefined;
    return { kills: field(text, "oom_kill") ?? 0, under: field(text, "under_oom") === 1 };
  }

  /** Whether the cgroup has been out of memory since the last call. */
  poll(): boolean {
    const now = this.read();
    if (!now) return false;
    const before = this.last ?? { kills: 0, under: false };
    this.last = now;
    return now.kills > before.kills || (now.under && !before.under);
  }
}
