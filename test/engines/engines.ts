// What the engine tests share: the compiled runtime, packages, a command runner with a
// deadline, temp dirs that are unmounted before removal, and the test image.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { REPO } from "../lib/rootfs";
import { buildImage, type BuiltImage, type ImageOptions } from "./image";

export const BUN_BIN = path.join(REPO, "node_modules/@oven/bun-linux-x64/bin");
export const PTY_DRIVE = path.join(import.meta.dir, "pty-drive.py");

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface CmdOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

/** Runs argv and waits for it, killing it (by pid) past the deadline. */
export async function cmd(argv: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const proc = Bun.spawn({
    cmd: argv,
    cwd: opts.cwd,
    env: { ...process.env, ...(opts.env ?? {}) } as Record<string, string>,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {}
  }, opts.timeoutMs ?? 60_000);
  const out = collect(proc.stdout);
  const err = collect(proc.stderr);
  const code = await proc.exited;
  clearTimeout(timer);
  // A daemon the command left behind (a shim, conmon) may still hold the pipes open:
  // take what has arrived rather than wait for their end.
  await Promise.race([Promise.all([out.done, err.done]), Bun.sleep(2_000)]);
  return { code, stdout: out.text(), stderr: err.text(), timedOut };
}

function collect(stream: ReadableStream<Uint8Array>): { done: Promise<void>; text: () => string } {
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of stream) chunks.push(c);
  })().catch(() => {});
  return { done, text: () => Buffer.concat(chunks).toString("utf8") };
}

/** Like cmd, but throws with everything printed unless the exit status is 0. */
export async function ok(argv: string[], opts: CmdOptions = {}): Promise<CmdResult> {
  const r = await cmd(argv, opts);
  if (r.code !== 0) {
    throw new Error(`${argv.join(" ")} -> ${r.timedOut ? "timed out" : `exit ${r.code}`}\n${r.stdout}${r.stderr}`);
  }
  return r;
}

function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    const p = path.join(d, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {}
  }
  return undefined;
}

/** Installs the Debian packages whose commands are missing; a no-op on the second run. */
export async function ensureCommands(pkgs: Record<string, string>): Promise<void> {
  const missing = [...new Set(Object.entries(pkgs).filter(([c]) => !which(c)).map(([, p]) => p))];
  if (!missing.length) return;
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  const install = ["apt-get", "install", "-y", "-o", "DPkg::Lock::Timeout=300", ...missing];
  let r = await cmd(install, { timeoutMs: 600_000, env });
  if (r.code !== 0) {
    // A fresh machine's package lists may be missing or stale.
    await cmd(["apt-get", "update"], { timeoutMs: 300_000, env });
    r = await cmd(install, { timeoutMs: 600_000, env });
  }
  if (r.code !== 0) throw new Error(`${install.join(" ")} failed:\n${r.stdout}${r.stderr}`);
}

function newestMtime(p: string): number {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let m = st.mtimeMs;
  for (const e of fs.readdirSync(p)) {
    if (e === "build" || e.startsWith(".")) continue;
    m = Math.max(m, newestMtime(path.join(p, e)));
  }
  return m;
}

/**
 * The compiled runtime, rebuilt when any source is newer than it. Engines take the
 * binary's absolute path; $DX_RUNTIME (absolute) overrides it and is never rebuilt.
 */
export async function runtimeBinary(): Promise<string> {
  if (process.env.DX_RUNTIME) return path.resolve(process.env.DX_RUNTIME);
  const bin = path.join(REPO, "dist", "dx-runtime");
  const sources = ["src", "native", "package.json"].map((p) => newestMtime(path.join(REPO, p)));
  const built = fs.existsSync(bin) ? fs.statSync(bin).mtimeMs : 0;
  if (built < Math.max(...sources)) {
    await ok(["npm", "run", "build"], {
      cwd: REPO,
      timeoutMs: 180_000,
      env: { PATH: `${path.join(REPO, "node_modules/.bin")}:${BUN_BIN}:${process.env.PATH}` },
    });
  }
  return bin;
}

/** CAP_SYS_RESOURCE (bit 24): needed to raise a hard rlimit or lower oom_score_adj. Some sandboxes withhold it even from root. */
export function hasCapSysResource(): boolean {
  const line = fs.readFileSync("/proc/self/status", "utf8").match(/^CapEff:\s*([0-9a-f]+)/m);
  return !!line && (BigInt("0x" + line[1]) & (1n << 24n)) !== 0n;
}

/** The hard limit of one resource for this process, as /proc/self/limits names it. */
export function hardLimit(name: string): number {
  const row = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(name));
  const hard = row?.slice(26).trim().split(/\s+/)[1];
  return hard === undefined || hard === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(hard);
}

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `dx-${tag}-`));
}

function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of fs.readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const p = mp.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    if (p === dir || p.startsWith(dir + "/")) out.push(p);
  }
  // Deepest first, so a parent is never busy with a child mount.
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts whatever an engine left mounted under dir, then removes it. */
export async function removeTree(dir: string): Promise<void> {
  for (const m of mountsUnder(dir)) await cmd(["umount", "-l", m], { timeoutMs: 10_000 });
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Stops a process started by a test: SIGTERM, then SIGKILL if it lingers. */
export async function stopProcess(proc: { pid: number; exited: Promise<number> }, graceMs = 5_000): Promise<void> {
  try {
    process.kill(proc.pid, "SIGTERM");
  } catch {
    return;
  }
  const done = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
  if (!done) {
    try {
      process.kill(proc.pid, "SIGKILL");
    } catch {}
    await proc.exited;
  }
}

/** The test image as an OCI layout tarball in dir. */
export function testImage(dir: string, opts: ImageOptions = {}): BuiltImage {
  const file = (opts.name ?? "dx-busybox").replace(/[^A-Za-z0-9_.-]/g, "_");
  return buildImage(path.join(dir, `${file}.oci.tar`), opts);
}

/** Runs argv on a pseudo-terminal, typing `input` once it starts talking. */
export function onPty(argv: string[], input: string, opts: CmdOptions = {}): Promise<CmdResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return cmd(["python3", PTY_DRIVE, String(timeoutMs / 1000 - 2), input, "--", ...argv], { ...opts, timeoutMs });
}

export async function waitUntil(what: string, fn: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

/**
 * Removes, in every hierarchy, the parent cgroup an engine's containers went under
 * (containerd's runc shim puts a namespace's tasks under /NAMESPACE, podman's cgroupfs
 * manager uses /libpod_parent, and neither removes it), with what is left below it,
 * deepest first. A cgroup still in use refuses rmdir and stays. Where a controller is
 * not mounted, podman makes plain directories and `tasks` files under /sys/fs/cgroup's
 * tmpfs all the same: those files go too (a cgroup's own files refuse unlink).
 */
export function removeCgroupParent(name: string): void {
  const dirs = ["/sys/fs/cgroup"];
  try {
    for (const e of fs.readdirSync("/sys/fs/cgroup", { withFileTypes: true })) if (e.isDirectory()) dirs.push(path.join("/sys/fs/cgroup", e.name));
  } catch {}
  const rmTree = (p: string): void => {
    try {
      for (const e of fs.readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) rmTree(path.join(p, e.name));
        else if (e.isFile()) {
          try {
            fs.unlinkSync(path.join(p, e.name));
          } catch {}
        }
      }
      fs.rmdirSync(p);
    } catch {}
  };
  for (const d of dirs) {
    const p = path.join(d, name);
    if (fs.existsSync(p)) rmTree(p);
  }
}

/** Where podman's cgroupfs manager puts conmon and its containers; podman leaves it. */
export const PODMAN_CGROUP_PARENT = "libpod_parent";
