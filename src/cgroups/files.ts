// Synchronous access to cgroupfs control files. Each write is one write(2) on a fresh
// O_WRONLY descriptor: several files (devices.allow, io.max, net_prio.ifpriomap) take
// one rule per write, and O_CREAT/O_TRUNC would turn a missing file into EACCES.

import { CgroupError, errnoCode, sysError } from "./errors";
import { nodeFs as fs, nodeRemover, type Remover } from "../native/nodefs";

// delete takes a cgroup apart through this module. It loads no node:path and calls no
// builtin written in JS (filter, map, some, spreads): the first call of each costs a
// process ~0.05-0.1 ms.

/** dir/file; the paths here are absolute and already clean. */
function join(dir: string, file: string): string {
  return dir.endsWith("/") ? dir + file : `${dir}/${file}`;
}

export const MAX_U64 = (1n << 64n) - 1n;

/** Waits between retries without blocking the event loop (a foreground run relays signals and a pty). */
export function sleep(ms: number): Promise<void> {
  return Bun.sleep(ms);
}

export function readFile(dir: string, file: string): string {
  try {
    return fs().readFileSync(join(dir, file), "utf8");
  } catch (e) {
    throw sysError(file, "read", e);
  }
}

/** The file's text, or undefined when the kernel does not provide it. */
export function readOptional(dir: string, file: string): string | undefined {
  try {
    return fs().readFileSync(join(dir, file), "utf8");
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENODEV" || code === "EOPNOTSUPP" || code === "ENOTSUP") return undefined;
    throw sysError(file, "read", e);
  }
}

export function hasFile(dir: string, file: string): boolean {
  try {
    fs().statSync(join(dir, file));
    return true;
  } catch {
    return false;
  }
}

export function isDir(path: string): boolean {
  try {
    return fs().statSync(path).isDirectory();
  } catch {
    return false;
  }
}

export function writeFile(dir: string, file: string, value: string): void {
  let fd: number;
  try {
    fd = fs().openSync(join(dir, file), fs().constants.O_WRONLY);
  } catch (e) {
    throw sysError(file, `write ${value}`, e);
  }
  try {
    for (;;) {
      try {
        fs().writeSync(fd, value);
        return;
      } catch (e) {
        if (errnoCode(e) === "EINTR") continue;
        throw sysError(file, `write ${value}`, e);
      }
    }
  } finally {
    fs().closeSync(fd);
  }
}

/** "max" (v2) and the v1 "unlimited" sentinels both come back as the numbers the kernel means. */
export function parseU64(text: string): bigint {
  const t = text.trim();
  if (t === "max") return MAX_U64;
  if (!/^-?\d+$/.test(t)) throw new CgroupError(`cgroup: cannot parse ${JSON.stringify(t)} as an integer`);
  const v = BigInt(t);
  // A negative value in a u64 field (e.g. "-1" meaning unlimited) reads as the maximum.
  return v < 0n ? MAX_U64 : v;
}

export function readU64(dir: string, file: string): bigint {
  const text = readFile(dir, file);
  try {
    return parseU64(text);
  } catch {
    throw new CgroupError(`cgroup ${file}: cannot parse ${JSON.stringify(text.trim())}`);
  }
}

export function readU64Optional(dir: string, file: string): bigint | undefined {
  const text = readOptional(dir, file);
  return text === undefined ? undefined : parseU64(text);
}

/** Flat keyed files (memory.stat, cpu.stat, memory.events): "key value" per line. */
export function readKeyValues(dir: string, file: string): Map<string, bigint> | undefined {
  const text = readOptional(dir, file);
  if (text === undefined) return undefined;
  const out = new Map<string, bigint>();
  for (const line of text.split("\n")) {
    const [k, v, ...rest] = line.trim().split(/\s+/);
    if (!k || v === undefined || rest.length) continue;
    if (/^-?\d+$/.test(v) || v === "max") out.set(k, parseU64(v));
  }
  return out;
}

export function mkdirAll(path: string): void {
  try {
    fs().mkdirSync(path, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw sysError(path, "mkdir", e);
  }
}

/** Child cgroup directories (control files are plain files and are skipped). */
export function subdirs(path: string): string[] {
  try {
    const out: string[] = [];
    for (const d of fs().readdirSync(path, { withFileTypes: true })) if (d.isDirectory()) out.push(join(path, d.name));
    return out;
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return [];
    throw sysError(path, "readdir", e);
  }
}

export function readProcs(dir: string): number[] {
  const text = readOptional(dir, "cgroup.procs");
  if (text === undefined) return [];
  const out: number[] = [];
  for (const l of text.split("\n")) if (l.trim() !== "") out.push(Number.parseInt(l, 10));
  return out;
}

/** pids of this cgroup and every cgroup below it. */
export function readProcsRecursive(dir: string): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  const walk = (d: string): void => {
    for (const p of readProcs(d))
      if (!seen.has(p)) {
        seen.add(p);
        out.push(p);
      }
    for (const s of subdirs(d)) walk(s);
  };
  walk(dir);
  return out;
}

/** Remove a cgroup directory and any below it, deepest first; gone already is success. */
function rmdirTree(path: string, rm: Remover): void {
  // Nested cgroups are rare: rmdir first, and list the directory (dozens of control
  // files) only when it is refused.
  let code = rm.rmdir(path);
  if (!code || code === "ENOENT") return;
  const subs = code === "EBUSY" || code === "ENOTEMPTY" ? subdirs(path) : [];
  if (!subs.length) throw new CgroupError(code, code);
  for (const s of subs) rmdirTree(s, rm);
  code = rm.rmdir(path);
  if (code && code !== "ENOENT") throw new CgroupError(code, code);
}

/**
 * Remove cgroup directories (and any below them). A cgroup can stay busy for a moment
 * after its last task exits (the kernel frees it asynchronously), so EBUSY is retried
 * for all of them together with a short backoff, about 150ms in total, as runc does.
 */
export async function removeCgroupDirs(paths: readonly string[], rm: Remover = nodeRemover): Promise<void> {
  let pending = paths.slice();
  let delay = 10;
  for (let attempt = 0; ; attempt++) {
    const failed: [string, unknown][] = [];
    for (const p of pending) {
      try {
        rmdirTree(p, rm);
      } catch (e) {
        failed.push([p, e]);
      }
    }
    if (failed.length === 0) return;
    const [path, err] = failed[0]!;
    pending = [];
    let busy = true;
    for (const [p, e] of failed) {
      pending.push(p);
      if (errnoCode(e) !== "EBUSY") busy = false;
    }
    if (attempt >= 4 || !busy) throw sysError(path, "rmdir", err);
    await sleep(delay);
    delay *= 2;
  }
}

export function removeCgroupDir(path: string, rm?: Remover): Promise<void> {
  return removeCgroupDirs([path], rm);
}

/**
 * Move a process. EINVAL can come back while the task is still being set up by
 * fork, so it is retried briefly, as runc does.
 */
export async function writeProc(dir: string, pid: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      writeFile(dir, "cgroup.procs", String(pid));
      return;
    } catch (e) {
      if (!(e instanceof CgroupError) || e.code !== "EINVAL" || attempt >= 4) throw e;
      await sleep(30);
    }
  }
}
