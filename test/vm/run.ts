// Boots the cgroup v2 test VM built by build.sh and collects the VMTEST lines its
// guest-tests.sh prints on the serial console.
//
//   bun test/vm/run.ts [--runtime dx-runtime|runc] [--only GROUP] [--timeout SEC] [--no-build]
//
// Exits 0 when the guest reported a summary and nothing failed.
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const VM_DIR = import.meta.dir;
export const REPO = path.resolve(VM_DIR, "../..");
export const WORK = path.join(REPO, "test", ".work", "vm");

export interface VmResult {
  name: string;
  status: "ok" | "fail" | "skip";
  reason?: string;
}

export interface VmRun {
  results: VmResult[];
  /** the `VMTEST done` line was seen: the guest got to the end */
  done: boolean;
  summary?: { passed: number; failed: number; skipped: number };
  timedOut: boolean;
  exitCode: number | null;
  /** the whole serial console, for diagnosing a boot that went wrong */
  console: string;
  bootMs: number;
  totalMs: number;
}

export interface RunOptions {
  runtime?: string;
  only?: string;
  timeoutMs?: number;
  memoryMb?: number;
  accel?: Accel;
  /** each console line as it arrives */
  onLine?: (line: string) => void;
}

export type Accel = "kvm" | "tcg";

function accelArgs(a: Accel): string[] {
  // "max" under TCG emulates AVX2, which the bun-compiled binary needs.
  return a === "kvm" ? ["-enable-kvm", "-cpu", "host"] : ["-accel", "tcg,thread=multi", "-cpu", "max"];
}

/**
 * KVM when it can boot a stock kernel here, else TCG. Some hosts expose a /dev/kvm that
 * only runs specially built guests (a stock kernel hangs before its first message), so
 * the answer comes from one probe boot, remembered per host kernel in test/.work/vm.
 * VM_ACCEL=kvm|tcg overrides.
 */
export async function pickAccel(kernel: string): Promise<Accel> {
  const forced = process.env.VM_ACCEL;
  if (forced === "kvm" || forced === "tcg") return forced;
  if (!fs.existsSync("/dev/kvm")) return "tcg";
  const cache = path.join(WORK, `accel-${os.release()}`);
  try {
    const v = fs.readFileSync(cache, "utf8").trim();
    if (v === "kvm" || v === "tcg") return v;
  } catch {}
  // Without an initramfs the kernel panics at once; panic=-1 and -no-reboot end qemu.
  const args = [...accelArgs("kvm"), "-m", "256", "-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none"];
  args.push("-kernel", kernel, "-append", "console=ttyS0 panic=-1 loglevel=4");
  const out = await new Promise<string>((resolve) => {
    const q = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    q.stdout.on("data", (c: Buffer) => (text += c.toString()));
    q.stderr.on("data", (c: Buffer) => (text += c.toString()));
    const t = setTimeout(() => q.pid && process.kill(q.pid, "SIGKILL"), 20_000);
    q.on("error", () => resolve(""));
    q.on("close", () => {
      clearTimeout(t);
      resolve(text);
    });
  });
  const accel: Accel = /Kernel panic|VFS:/.test(out) ? "kvm" : "tcg";
  fs.mkdirSync(WORK, { recursive: true });
  fs.writeFileSync(cache, accel + "\n");
  return accel;
}

/** Runs build.sh (idempotent) and returns the kernel and initramfs paths. */
export function buildVm(): { kernel: string; initrd: string } {
  const r = spawnSync("bash", [path.join(VM_DIR, "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`test/vm/build.sh failed with status ${r.status}`);
  const get = (k: string) => r.stdout.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1];
  const kernel = get("KERNEL");
  const initrd = get("INITRD");
  if (!kernel || !initrd) throw new Error(`build.sh printed no KERNEL=/INITRD= lines:\n${r.stdout}`);
  return { kernel, initrd };
}

const LINE = /^VMTEST (ok|fail|skip) ([^\s:]+)(?::\s*(.*))?$/;
const DONE = /^VMTEST done (\d+) passed, (\d+) failed, (\d+) skipped/;

export function parseConsole(text: string): Pick<VmRun, "results" | "done" | "summary"> {
  const results: VmResult[] = [];
  let summary: VmRun["summary"];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/\r$/, "").trim();
    const d = DONE.exec(line);
    if (d) {
      summary = { passed: Number(d[1]), failed: Number(d[2]), skipped: Number(d[3]) };
      continue;
    }
    const m = LINE.exec(line);
    if (m) results.push({ name: m[2]!, status: m[1] as VmResult["status"], reason: m[3] });
  }
  return { results, done: summary !== undefined, summary };
}

export async function bootVm(kernel: string, initrd: string, opts: RunOptions = {}): Promise<VmRun> {
  const append = ["console=ttyS0", "cgroup_no_v1=all", "panic=-1", "quiet", "random.trust_cpu=on"];
  if (opts.runtime) append.push(`vmtest_runtime=${opts.runtime}`);
  if (opts.only) append.push(`vmtest_only=${opts.only}`);
  const args = directBootArgs(opts.accel ?? (await pickAccel(kernel)), opts.memoryMb ?? 1024, kernel, initrd, append);
  return runQemu(args, opts.onLine, opts.timeoutMs ?? 600_000);
}

/** qemu with 2 vCPUs on the serial console, booting `kernel` and `initrd` directly. */
export function directBootArgs(accel: Accel, memoryMb: number, kernel: string, initrd: string, append: string[]): string[] {
  return [
    ...accelArgs(accel),
    "-m",
    String(memoryMb),
    "-smp",
    "2",
    "-nographic",
    "-no-reboot",
    "-nodefaults",
    "-serial",
    "stdio",
    "-monitor",
    "none",
    "-kernel",
    kernel,
    "-initrd",
    initrd,
    "-append",
    append.join(" "),
  ];
}

/**
 * Runs qemu with `args` until it exits or `timeoutMs` passes (then kills it, by pid),
 * passing each console line to `onLine`, and reads the VMTEST lines. The boot time is
 * taken at the guest's first line, "# kernel ..." (after the firmware's terminal
 * escapes on the same line, in some guests).
 */
export async function runQemu(args: string[], onLine: ((line: string) => void) | undefined, timeoutMs: number): Promise<VmRun> {
  const t0 = performance.now();
  onLine?.(`# qemu ${args.join(" ")}`);
  const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  let pending = "";
  let bootMs = 0;
  const feed = (chunk: Buffer) => {
    const s = chunk.toString("utf8");
    text += s;
    pending += s;
    let nl: number;
    while ((nl = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, nl).replace(/\r$/, "");
      pending = pending.slice(nl + 1);
      if (!bootMs && line.includes("# kernel ")) bootMs = performance.now() - t0;
      onLine?.(line);
    }
  };
  qemu.stdout.on("data", feed);
  qemu.stderr.on("data", feed);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    // Only the qemu started here, by its pid.
    if (qemu.pid) process.kill(qemu.pid, "SIGKILL");
  }, timeoutMs);
  const exitCode: number | null = await new Promise((resolve) => {
    qemu.on("error", (e) => {
      text += `\nqemu could not start: ${e.message}\n`;
      resolve(null);
    });
    qemu.on("close", (code) => resolve(code));
  });
  clearTimeout(timer);
  if (pending) onLine?.(pending);
  return { ...parseConsole(text), timedOut, exitCode, console: text, bootMs, totalMs: performance.now() - t0 };
}

function failedSummary(run: VmRun): string[] {
  const out: string[] = [];
  if (run.timedOut) out.push("the VM was killed at the timeout");
  if (!run.done) out.push("the guest printed no `VMTEST done` line");
  for (const r of run.results) if (r.status === "fail") out.push(`${r.name}: ${r.reason ?? ""}`);
  return out;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const t0 = performance.now();
  const built = argv.includes("--no-build")
    ? { kernel: path.join(WORK, "kernel", fs.readFileSync(path.join(WORK, "kernel.version"), "utf8").trim(), "vmlinuz"), initrd: path.join(WORK, "initrd.cpio") }
    : buildVm();
  const buildMs = performance.now() - t0;
  const run = await bootVm(built.kernel, built.initrd, {
    runtime: opt("--runtime"),
    only: opt("--only"),
    timeoutMs: opt("--timeout") ? Number(opt("--timeout")) * 1000 : undefined,
    onLine: (l) => process.stdout.write(l + "\n"),
  });
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  process.stdout.write(`\nbuild ${s(buildMs)}, boot to /init ${s(run.bootMs)}, VM total ${s(run.totalMs)}\n`);
  const bad = failedSummary(run);
  if (bad.length) process.stdout.write(`FAILED:\n  ${bad.join("\n  ")}\n`);
  process.exit(bad.length ? 1 : 0);
}
