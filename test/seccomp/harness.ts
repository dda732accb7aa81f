// Builds test/seccomp/seccomp-run.c once and runs exported filters through it, so the
// tests see what the kernel does with the BPF, not just what libseccomp printed.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CompiledSeccomp } from "../../src/seccomp";

const WORK = join(import.meta.dir, "..", ".work", "seccomp");
const SOURCE = join(import.meta.dir, "seccomp-run.c");
const BINARY = join(WORK, "seccomp-run");

let built = false;

export function buildLoader(): string {
  if (built) return BINARY;
  mkdirSync(WORK, { recursive: true });
  const fresh = (() => {
    try {
      return statSync(BINARY).mtimeMs >= statSync(SOURCE).mtimeMs;
    } catch {
      return false;
    }
  })();
  if (!fresh) {
    const r = Bun.spawnSync(["gcc", "-O2", "-Wall", "-Werror", "-o", BINARY, SOURCE]);
    if (r.exitCode !== 0) throw new Error(`gcc seccomp-run.c failed:\n${r.stderr.toString()}`);
  }
  built = true;
  return BINARY;
}

export interface RunResult {
  /** "ret=R errno=E" of the call, or undefined if the process died first. */
  ret?: number;
  errno?: number;
  notified?: string;
  signal: string | null;
  exitCode: number | null;
  stdout: string;
}

let seq = 0;

/** Installs `c` in a fresh process and makes `syscall(args)` under it. */
export function runFiltered(c: CompiledSeccomp, syscall: string, args: (string | number)[] = [], mode: "call" | "notify" = "call"): RunResult {
  const bin = buildLoader();
  const file = join(WORK, `filter-${process.pid}-${seq++}.bpf`);
  writeFileSync(file, c.bpf);
  const r = Bun.spawnSync([bin, file, String(c.flags), mode, syscall, ...args.map(String)], { timeout: 10_000 });
  rmSync(file, { force: true });
  const stdout = r.stdout.toString();
  const m = /ret=(-?\d+) errno=(\d+)/.exec(stdout);
  const n = /notified=(\S+)/.exec(stdout);
  return {
    ...(m ? { ret: Number(m[1]), errno: Number(m[2]) } : {}),
    ...(n ? { notified: n[1] } : {}),
    signal: r.signalCode == null ? null : String(r.signalCode),
    exitCode: r.exitCode,
    stdout,
  };
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(join(import.meta.dir, "fixtures", name), "utf8"));
}
