// Shared by the cgroup tests: unique names, processes that are always reaped, and
// managers that are always destroyed, so a failing test leaves no cgroup behind.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { expect } from "bun:test";
import { CgroupError, type CgroupManager } from "../../src/cgroups";
import { trackId } from "../lib/harness";

export const bun = process.execPath;

export function uniqueName(tag: string): string {
  const name = `dxrt-test-${tag}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  // The suite-wide leak checker then looks for cgroup dirs and processes under this name.
  try {
    trackId(name);
  } catch {
    // made outside a test (a describe body): the test's own cleanup is all there is
  }
  return name;
}

export class Cleanup {
  private procs: Bun.Subprocess[] = [];
  private managers: CgroupManager[] = [];
  private extra: (() => unknown)[] = [];

  spawn(cmd: string[]): Bun.Subprocess {
    const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "ignore", stdin: "ignore" });
    this.procs.push(p);
    return p;
  }

  /** A process spawned elsewhere, killed and reaped before the cgroups are removed. */
  track<T extends Bun.Subprocess>(p: T): T {
    this.procs.push(p);
    return p;
  }

  manager<T extends CgroupManager>(m: T): T {
    this.managers.push(m);
    return m;
  }

  defer(fn: () => unknown): void {
    this.extra.push(fn);
  }

  async run(): Promise<void> {
    for (const m of this.managers) {
      // A frozen cgroup would keep its processes from dying.
      try {
        await m.thaw();
      } catch {}
    }
    for (const p of this.procs) {
      try {
        p.kill(9);
      } catch {}
      await p.exited;
    }
    // Children the tracked processes left behind (a shell's sleep) die with the cgroup.
    for (const m of this.managers) {
      try {
        await m.killAll(9);
        await waitFor(() => m.pids().length === 0, 2000);
      } catch {}
    }
    for (const m of this.managers.reverse()) {
      try {
        await m.destroy();
      } catch {}
    }
    for (const fn of this.extra.reverse()) {
      try {
        await fn();
      } catch {}
    }
    this.procs = [];
    this.managers = [];
    this.extra = [];
  }
}

/** Poll until `fn` holds, for at most `ms`. */
export async function waitFor(fn: () => boolean, ms = 3000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await Bun.sleep(10);
  }
  return fn();
}

export function read(dir: string, file: string): string {
  return readFileSync(`${dir}/${file}`, "utf8").trim();
}

export function procState(pid: number): string {
  const m = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? m[1]! : "?";
}

/** The cgroup path of `pid` in the hierarchy carrying `controller` ("" for v2). */
export function procCgroup(pid: number, controller: string): string | undefined {
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const [, names, path] = line.split(/:(.*?):/);
    if (names === undefined) continue;
    if (controller === "" ? names === "" : names.split(",").includes(controller)) return path;
  }
  return undefined;
}

/** A shell that appends to `file` every 20ms: stops growing exactly when frozen. */
export function tickerCommand(file: string): string[] {
  return ["/bin/sh", "-c", `while :; do echo x >> ${file}; sleep 0.02; done`];
}

export function sizeOf(file: string): number {
  return existsSync(file) ? readFileSync(file).length : 0;
}

/** major:minor of a real block device, for throttle rules. */
export function someBlockDevice(): { major: number; minor: number } | undefined {
  const names = readdirSync("/sys/block");
  const pick = names.find((n) => !/^(loop|ram|zram)/.test(n)) ?? names[0];
  if (!pick) return undefined;
  const [major, minor] = readFileSync(`/sys/block/${pick}/dev`, "utf8").trim().split(":").map(Number);
  return { major: major!, minor: minor! };
}

/** A CgroupError whose message matches and is one line: what the runtime prints. */
function expectOneLineCgroupError(err: unknown, pattern: RegExp): void {
  expect(err).toBeInstanceOf(CgroupError);
  const msg = (err as Error).message;
  expect(msg).toMatch(pattern);
  expect(msg).not.toContain("\n");
}

export function expectCgroupError(fn: () => void, pattern: RegExp): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expectOneLineCgroupError(err, pattern);
}

export async function expectCgroupErrorAsync(fn: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  let err: unknown;
  try {
    await fn();
  } catch (e) {
    err = e;
  }
  expectOneLineCgroupError(err, pattern);
}
