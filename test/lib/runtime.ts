// Drives the runtime under test as a separate binary, the way engines do.
import fs from "node:fs";
import path from "node:path";
import { REPO, WORK } from "./rootfs";

/** The binary under test: $DX_RUNTIME, or the built one. */
export const RUNTIME = process.env.DX_RUNTIME || path.join(REPO, "dist", "dx-runtime");

/** True when the binary under test is runc; a few tests note where runc differs from the spec. */
export const IS_RUNC = path.basename(fs.existsSync(RUNTIME) ? fs.realpathSync(RUNTIME) : RUNTIME) === "runc";

export interface RtOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Text written to the runtime's stdin; otherwise stdin is /dev/null. */
  stdin?: string;
  /** Kill the runtime (by pid) after this long; the result then has timedOut set. */
  timeoutMs?: number;
  /** Where stdout/stderr go. Containers created without a terminal inherit these files and keep writing to them. */
  stdoutFile?: string;
  stderrFile?: string;
  /** Extra fds handed to the runtime as 3, 4, ... (for --preserve-fds). */
  extraFds?: number[];
  /** Pass no --root (for commands that don't take one, or to test the default). */
  noRoot?: boolean;
}

export interface RtResult {
  code: number;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  stdoutFile: string;
  stderrFile: string;
  argv: string[];
}

export interface SuitePaths {
  name: string;
  /** NAME=value in the environment of every runtime this suite spawns, for the leak checker. */
  envMarker: string;
  dir: string;
  root: string;
  io: string;
  bundles: string;
}

let suite: SuitePaths | undefined;
let ioSeq = 0;

export function currentSuite(): SuitePaths {
  if (!suite) throw new Error("test harness not set up: call useHarness() at the top of the test file");
  return suite;
}

export function openSuite(name: string): SuitePaths {
  const safe = name.replace(/[^A-Za-z0-9_.-]/g, "_");
  const dir = path.join(WORK, "suites", `${safe}-${process.pid}`);
  fs.rmSync(dir, { recursive: true, force: true });
  const s: SuitePaths = {
    name: safe,
    envMarker: `DXT_SUITE=${safe}-${process.pid}`,
    dir,
    root: path.join(dir, "root"),
    io: path.join(dir, "io"),
    bundles: path.join(dir, "b"),
  };
  for (const d of [s.root, s.io, s.bundles]) fs.mkdirSync(d, { recursive: true, mode: 0o755 });
  suite = s;
  return s;
}

export function closeSuite(): void {
  suite = undefined;
}

/** A fresh file path in the suite's io dir. */
export function ioPath(tag: string): string {
  return path.join(currentSuite().io, `${++ioSeq}-${tag}`);
}

/** Text of a file from a byte offset on (offsets are bytes: output may be UTF-8). */
function readFrom(p: string, from: number): string {
  try {
    return fs.readFileSync(p).subarray(from).toString("utf8");
  } catch {
    return "";
  }
}

/** Runs the runtime with this suite's --root and waits for it (not for the container). */
export async function rt(args: string[], opts: RtOptions = {}): Promise<RtResult> {
  const s = currentSuite();
  const argv = [RUNTIME, ...(opts.noRoot ? [] : ["--root", s.root]), ...args];
  const tag = (args.find((a) => !a.startsWith("-")) ?? "rt").replace(/[^A-Za-z0-9_.-]/g, "_");
  const stdoutFile = opts.stdoutFile ?? ioPath(`${tag}.out`);
  const stderrFile = opts.stderrFile ?? ioPath(`${tag}.err`);
  // Files, not pipes: a container started by create/run -d inherits the runtime's stdio,
  // and a pipe would keep our read open until the container exits.
  const outFd = fs.openSync(stdoutFile, "a");
  const errFd = stderrFile === stdoutFile ? outFd : fs.openSync(stderrFile, "a");
  const outStart = fs.fstatSync(outFd).size;
  const errStart = fs.fstatSync(errFd).size;
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn({
      cmd: argv,
      cwd: opts.cwd ?? s.dir,
      env: {
        ...process.env,
        [s.envMarker.split("=")[0]!]: s.envMarker.slice(s.envMarker.indexOf("=") + 1),
        ...(opts.env ?? {}),
      } as Record<string, string>,
      stdio: [opts.stdin !== undefined ? "pipe" : "ignore", outFd, errFd, ...(opts.extraFds ?? [])],
    });
  } finally {
    fs.closeSync(outFd);
    if (errFd !== outFd) fs.closeSync(errFd);
  }
  if (opts.stdin !== undefined) {
    const sink = proc.stdin as import("bun").FileSink;
    sink.write(opts.stdin);
    await sink.end();
  }
  let timedOut = false;
  const limit = opts.timeoutMs ?? 30_000;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {}
  }, limit);
  const code = await proc.exited;
  clearTimeout(timer);
  return {
    code,
    signal: proc.signalCode === null || proc.signalCode === undefined ? null : String(proc.signalCode),
    stdout: readFrom(stdoutFile, outStart),
    stderr: stderrFile === stdoutFile ? "" : readFrom(stderrFile, errStart),
    timedOut,
    stdoutFile,
    stderrFile,
    argv,
  };
}

let idSeq = 0;
const idListeners: ((id: string) => void)[] = [];

export function onNewId(fn: (id: string) => void): void {
  idListeners.push(fn);
}

/** A container id unique to this run, registered with the leak checker. */
export function uniqueId(tag = ""): string {
  const s = suite?.name ?? "x";
  const rand = Math.random().toString(16).slice(2, 8);
  const id = `dxt-${s.slice(0, 12)}${tag ? "-" + tag : ""}-${++idSeq}-${rand}`;
  for (const fn of idListeners) fn(id);
  return id;
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string;
}

/** Polls fn until it returns a truthy value, which is returned. */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.what ?? "condition"} (last: ${String(last)})`);
    }
    await Bun.sleep(opts.intervalMs ?? 20);
  }
}

export function sleep(ms: number): Promise<void> {
  return Bun.sleep(ms);
}
