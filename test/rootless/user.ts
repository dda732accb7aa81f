// An unprivileged user made for one test file and removed after it: a home, a
// subordinate id range in /etc/subuid and /etc/subgid (for newuidmap/newgidmap), a
// $XDG_RUNTIME_DIR, and a way to run commands as that user with a clean environment.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnSync } from "node:child_process";

export interface RootlessUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  xdg: string;
  /** first subordinate id and how many */
  sub: [number, number];
  /** A scratch dir the user owns. */
  dir: string;
  env(extra?: Record<string, string>): string[];
  /** argv that runs `args` as the user (setpriv + env -i). */
  argv(args: string[], extra?: Record<string, string>): string[];
  remove(): void;
}

export function canMakeUsers(): boolean {
  if (process.getuid?.() !== 0) return false;
  for (const t of ["useradd", "userdel", "setpriv", "newuidmap", "newgidmap"]) if (spawnSync("which", [t]).status !== 0) return false;
  return true;
}

function removeLine(file: string, prefix: string): void {
  try {
    const kept = fs.readFileSync(file, "utf8").split("\n").filter((l) => !l.startsWith(prefix));
    fs.writeFileSync(file, kept.join("\n"));
  } catch {}
}

export function makeUser(tag: string): RootlessUser {
  const name = `dxrl${tag}${process.pid % 100000}`.slice(0, 31);
  spawnSync("userdel", ["-r", name], { stdio: "ignore" });
  const r = spawnSync("useradd", ["-m", "-s", "/bin/sh", name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
  const uid = Number(spawnSync("id", ["-u", name], { encoding: "utf8" }).stdout);
  const gid = Number(spawnSync("id", ["-g", name], { encoding: "utf8" }).stdout);
  // A range of its own, past anything a default useradd hands out.
  const sub: [number, number] = [1_000_000 + (process.pid % 1000) * 65536, 65536];
  for (const f of ["/etc/subuid", "/etc/subgid"]) {
    removeLine(f, `${name}:`);
    const text = fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "";
    fs.writeFileSync(f, (text && !text.endsWith("\n") ? text + "\n" : text) + `${name}:${sub[0]}:${sub[1]}\n`);
  }
  const xdg = `/run/user/${uid}`;
  fs.mkdirSync(xdg, { recursive: true, mode: 0o700 });
  fs.chownSync(xdg, uid, gid);
  fs.chmodSync(xdg, 0o700);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  fs.chmodSync(dir, 0o755);
  fs.chownSync(dir, uid, gid);
  const home = `/home/${name}`;
  const env = (extra: Record<string, string> = {}) =>
    Object.entries({ PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: home, USER: name, LOGNAME: name, XDG_RUNTIME_DIR: xdg, ...extra })
      .filter(([, v]) => v !== "")
      .map(([k, v]) => `${k}=${v}`);
  return {
    name,
    uid,
    gid,
    home,
    xdg,
    sub,
    dir,
    env,
    argv: (args, extra) => ["setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--init-groups", "env", "-i", ...env(extra), ...args],
    remove() {
      // Whatever the user still runs (a container a failed test left) goes first.
      spawnSync("pkill", ["-KILL", "-u", String(uid)], { stdio: "ignore" });
      spawnSync("userdel", ["-r", "-f", name], { stdio: "ignore" });
      for (const f of ["/etc/subuid", "/etc/subgid"]) removeLine(f, `${name}:`);
      fs.rmSync(xdg, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs as the user with stdout/stderr in files, so a detached container's output cannot hold a pipe open. */
export function runAs(u: RootlessUser, args: string[], opts: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Result {
  const io = fs.mkdtempSync(path.join(os.tmpdir(), "dxrl-io-"));
  const out = fs.openSync(path.join(io, "out"), "w+");
  const err = fs.openSync(path.join(io, "err"), "w+");
  try {
    const r = Bun.spawnSync(u.argv(args, opts.env), { cwd: opts.cwd ?? u.dir, stdio: ["ignore", out, err], timeout: opts.timeoutMs ?? 30_000 });
    return {
      code: r.exitCode ?? 128 + 9,
      stdout: fs.readFileSync(path.join(io, "out"), "utf8"),
      stderr: fs.readFileSync(path.join(io, "err"), "utf8"),
    };
  } finally {
    fs.closeSync(out);
    fs.closeSync(err);
    fs.rmSync(io, { recursive: true, force: true });
  }
}
