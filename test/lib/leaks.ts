// After every test nothing the test made may remain: state dirs, mounts, cgroups,
// processes, fifos. A leak fails the test with a precise list and is then cleaned up,
// so one leak does not cascade into the following tests.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { WORK } from "./rootfs";

export interface Tracked {
  /** Container ids the test used. */
  ids: Set<string>;
  /** Host dirs (bundles, scratch dirs) the test made. */
  dirs: Set<string>;
  /** The runtime's --root for the suite. */
  root: string;
  /** NAME=value put in the environment of every runtime the suite spawns. */
  envMarker?: string;
}

export type Leak =
  | { kind: "process"; pid: number; detail: string }
  | { kind: "mount"; mountPoint: string; detail: string }
  | { kind: "cgroup"; dir: string }
  | { kind: "state"; dir: string }
  | { kind: "fifo"; file: string };

function readlinkOr(p: string): string | undefined {
  try {
    return fs.readlinkSync(p);
  } catch {
    return undefined;
  }
}

function readOr(p: string): string | undefined {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return undefined;
  }
}

interface ProcInfo {
  pid: number;
  ppid: number;
  comm: string;
  state: string;
  cwd?: string;
  root?: string;
  exe?: string;
  cmdline: string;
}

function procInfo(pid: number): ProcInfo | undefined {
  const stat = readOr(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const close = stat.lastIndexOf(")");
  const comm = stat.slice(stat.indexOf("(") + 1, close);
  const rest = stat.slice(close + 2).split(" ");
  // rest[0] is field 3 (state), rest[1] field 4 (ppid).
  return {
    pid,
    ppid: Number(rest[1]),
    comm,
    state: rest[0]!,
    cwd: readlinkOr(`/proc/${pid}/cwd`),
    root: readlinkOr(`/proc/${pid}/root`),
    exe: readlinkOr(`/proc/${pid}/exe`),
    cmdline: (readOr(`/proc/${pid}/cmdline`) ?? "").split("\0").join(" ").trim(),
  };
}

function allPids(): number[] {
  return fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/** Our own pid and its ancestors: never reported, never killed. */
function selfAndAncestors(): Set<number> {
  const out = new Set<number>();
  let pid = process.pid;
  while (pid > 0 && !out.has(pid)) {
    out.add(pid);
    pid = procInfo(pid)?.ppid ?? 0;
  }
  return out;
}

function inside(p: string | undefined, dirs: Iterable<string>): boolean {
  if (!p) return false;
  const clean = p.replace(/ \(deleted\)$/, "");
  for (const d of dirs) if (clean === d || clean.startsWith(d + "/")) return true;
  return false;
}

function mentions(s: string | undefined, ids: Iterable<string>): boolean {
  if (!s) return false;
  for (const id of ids) if (s.includes(id)) return true;
  return false;
}

function inodeKey(p: string): string | undefined {
  try {
    const st = fs.statSync(p);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Inodes of the tracked dirs and their first two levels of subdirs. A process in another
 * mount namespace reads its root as "/", so paths alone can't tell where it lives; the
 * inode behind /proc/PID/root can, as long as the rootfs was bind-mounted, not copied.
 */
function trackedInodes(dirs: string[]): Map<string, string> {
  const out = new Map<string, string>();
  const add = (p: string, depth: number) => {
    const k = inodeKey(p);
    if (k) out.set(k, p);
    if (depth === 0) return;
    try {
      for (const e of fs.readdirSync(p, { withFileTypes: true })) {
        if (e.isDirectory()) add(path.join(p, e.name), depth - 1);
      }
    } catch {}
  };
  for (const d of dirs) add(d, 2);
  return out;
}

export function findProcessLeaks(t: Tracked): Leak[] {
  const skip = selfAndAncestors();
  // The suite dir too: runtimes run with their cwd there.
  const dirs = [...t.dirs, t.root, path.dirname(t.root)];
  const inodes = trackedInodes(dirs);
  const leaks: Leak[] = [];
  for (const pid of allPids()) {
    if (skip.has(pid)) continue;
    const p = procInfo(pid);
    if (!p || p.state === "Z") continue;
    const reasons: string[] = [];
    if (inside(p.cwd, dirs)) reasons.push(`cwd=${p.cwd}`);
    if (inside(p.root, dirs)) reasons.push(`root=${p.root}`);
    else {
      const hit = inodes.get(inodeKey(`/proc/${pid}/root`) ?? "");
      if (hit) reasons.push(`root is ${hit}`);
    }
    if (mentions(p.cmdline, t.ids)) reasons.push(`cmdline="${p.cmdline}"`);
    // A runtime or init stub (dx-init, a memfd copy, runc init) that has not pivoted yet
    // still carries the environment of the runtime that spawned it. The exe name alone is
    // not enough: other programs on a shared host run from memfds too.
    if (t.envMarker && !reasons.length) {
      const env = readOr(`/proc/${pid}/environ`);
      if (env && env.split("\0").includes(t.envMarker)) reasons.push(`exe=${p.exe ?? "?"} environ has ${t.envMarker}`);
    }
    if (reasons.length) leaks.push({ kind: "process", pid, detail: `${p.comm} ${reasons.join(" ")}` });
  }
  return leaks;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
}

interface MountEntry {
  mountPoint: string;
  fstype: string;
  source: string;
  line: string;
}

export function mountTable(): MountEntry[] {
  const out: MountEntry[] = [];
  for (const line of (readOr("/proc/self/mountinfo") ?? "").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    const dash = f.indexOf("-");
    out.push({ mountPoint: unescapeMount(f[4]!), fstype: f[dash + 1]!, source: unescapeMount(f[dash + 2] ?? ""), line });
  }
  return out;
}

export function findMountLeaks(t: Tracked): Leak[] {
  const leaks: Leak[] = [];
  for (const m of mountTable()) {
    if (inside(m.mountPoint, [WORK]) || mentions(m.line, t.ids)) {
      leaks.push({ kind: "mount", mountPoint: m.mountPoint, detail: `${m.fstype} ${m.source}` });
    }
  }
  return leaks;
}

/** Mount points of every cgroup hierarchy (v1 controllers, named ones, and cgroup2). */
export function cgroupRoots(): string[] {
  return mountTable()
    .filter((m) => m.fstype === "cgroup" || m.fstype === "cgroup2")
    .map((m) => m.mountPoint);
}

function walkDirs(dir: string, visit: (d: string) => void, depth = 0): void {
  if (depth > 32) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (!e.isDirectory()) continue;
    const p = path.join(dir, e.name);
    visit(p);
    walkDirs(p, visit, depth + 1);
  }
}

export function findCgroupLeaks(t: Tracked): Leak[] {
  if (t.ids.size === 0) return [];
  const leaks: Leak[] = [];
  for (const root of cgroupRoots()) {
    walkDirs(root, (d) => {
      if (mentions(path.basename(d), t.ids)) leaks.push({ kind: "cgroup", dir: d });
    });
  }
  return leaks;
}

export function findStateLeaks(t: Tracked): Leak[] {
  const leaks: Leak[] = [];
  for (const id of t.ids) {
    const d = path.join(t.root, id);
    if (fs.existsSync(d)) leaks.push({ kind: "state", dir: d });
  }
  return leaks;
}

function walkFifos(dir: string, out: string[], dev: number, depth = 0): void {
  if (depth > 40) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isFIFO()) out.push(p);
    else if (e.isDirectory()) {
      // Never descend into another filesystem: a leaked mount is reported separately.
      try {
        if (fs.lstatSync(p).dev !== dev) continue;
      } catch {
        continue;
      }
      walkFifos(p, out, dev, depth + 1);
    }
  }
}

export function findFifoLeaks(t: Tracked): Leak[] {
  const files: string[] = [];
  for (const d of [t.root, ...t.dirs]) {
    let dev: number;
    try {
      dev = fs.lstatSync(d).dev;
    } catch {
      continue;
    }
    walkFifos(d, files, dev);
  }
  return files.map((file) => ({ kind: "fifo", file }));
}

export function findLeaks(t: Tracked): Leak[] {
  return [
    ...findProcessLeaks(t),
    ...findMountLeaks(t),
    ...findCgroupLeaks(t),
    ...findStateLeaks(t),
    ...findFifoLeaks(t),
  ];
}

export function describeLeak(l: Leak): string {
  switch (l.kind) {
    case "process":
      return `process ${l.pid}: ${l.detail}`;
    case "mount":
      return `mount ${l.mountPoint} (${l.detail})`;
    case "cgroup":
      return `cgroup ${l.dir}`;
    case "state":
      return `state dir ${l.dir}`;
    case "fifo":
      return `fifo ${l.file}`;
  }
}

function gone(pid: number): boolean {
  const p = procInfo(pid);
  return !p || p.state === "Z";
}

async function killAndWait(pids: number[]): Promise<void> {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  const deadline = Date.now() + 3000;
  while (Date.now() < deadline && pids.some((p) => !gone(p))) await Bun.sleep(20);
}

function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const collect = (d: string) => {
    const txt = readOr(path.join(d, "cgroup.procs")) ?? "";
    for (const l of txt.split("\n")) if (l.trim()) out.push(Number(l));
  };
  collect(dir);
  walkDirs(dir, collect);
  return out;
}

/** Undoes leaks: kill, unmount, remove cgroups, remove state and fifos. */
export async function cleanLeaks(leaks: Leak[]): Promise<string[]> {
  const problems: string[] = [];
  const skip = selfAndAncestors();
  const procs = leaks.flatMap((l) => (l.kind === "process" && !skip.has(l.pid) ? [l.pid] : []));
  const cgroups = leaks.flatMap((l) => (l.kind === "cgroup" ? [l.dir] : []));
  const cgPids = cgroups.flatMap(cgroupPids).filter((p) => !skip.has(p));
  await killAndWait([...new Set([...procs, ...cgPids])]);

  // Deepest first so a parent is not busy because of a child.
  const mounts = leaks
    .flatMap((l) => (l.kind === "mount" ? [l.mountPoint] : []))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    const r = spawnSync("umount", ["-l", m], { encoding: "utf8" });
    if (r.status !== 0 && mountTable().some((e) => e.mountPoint === m)) problems.push(`umount ${m}: ${r.stderr.trim()}`);
  }

  for (const d of [...new Set(cgroups)].sort((a, b) => b.length - a.length)) {
    const subdirs: string[] = [];
    walkDirs(d, (s) => subdirs.push(s));
    for (const s of [...subdirs.sort((a, b) => b.length - a.length), d]) {
      let ok = false;
      for (let i = 0; i < 50 && !ok; i++) {
        try {
          fs.rmdirSync(s);
          ok = true;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "ENOENT") ok = true;
          else await Bun.sleep(20);
        }
      }
      if (!ok) problems.push(`rmdir ${s} failed`);
    }
  }

  for (const l of leaks) {
    if (l.kind === "state") safeRemove(l.dir, problems);
    if (l.kind === "fifo") {
      try {
        fs.unlinkSync(l.file);
      } catch {}
    }
  }
  return problems;
}

/** rm -rf that refuses to cross into a mount (a leaked bind could point at the host). */
export function safeRemove(dir: string, problems: string[] = []): boolean {
  if (!fs.existsSync(dir)) return true;
  const mounted = mountTable().filter((m) => inside(m.mountPoint, [dir]));
  if (mounted.length) {
    problems.push(`not removing ${dir}: mounts inside: ${mounted.map((m) => m.mountPoint).join(", ")}`);
    return false;
  }
  try {
    fs.rmSync(dir, { recursive: true, force: true });
    return true;
  } catch (e) {
    problems.push(`rm ${dir}: ${(e as Error).message}`);
    return false;
  }
}

/** Throws a descriptive error if the test left anything behind, after cleaning it up. */
export async function expectNoLeaks(t: Tracked): Promise<void> {
  // The runtime may still be finishing an asynchronous teardown: give it a moment.
  let leaks = findLeaks(t);
  const deadline = Date.now() + 1500;
  while (leaks.length && Date.now() < deadline) {
    await Bun.sleep(50);
    leaks = findLeaks(t);
  }
  if (!leaks.length) return;
  const problems = await cleanLeaks(leaks);
  const lines = leaks.map((l) => "  " + describeLeak(l));
  if (problems.length) lines.push("cleanup problems:", ...problems.map((p) => "  " + p));
  throw new Error(`test left ${leaks.length} thing(s) behind:\n${lines.join("\n")}`);
}
