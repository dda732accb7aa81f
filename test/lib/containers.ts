// Container-level helpers built on rt(): the few sequences nearly every test repeats.
import fs from "node:fs";
import { expect } from "bun:test";
import type { Bundle } from "./bundle";
import { rt, uniqueId, waitFor, type RtOptions, type RtResult } from "./runtime";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type State = Record<string, any>;

export function explain(r: RtResult): string {
  return `${r.argv.slice(1).join(" ")} → exit ${r.code}${r.signal ? ` (${r.signal})` : ""}${
    r.timedOut ? " (timed out)" : ""
  }\nstdout: ${r.stdout.trim()}\nstderr: ${r.stderr.trim()}`;
}

/** Asserts exit 0 with a readable message otherwise. */
export function ok(r: RtResult): RtResult {
  if (r.code !== 0) throw new Error(`expected success: ${explain(r)}`);
  return r;
}

/** Asserts a failure: non-zero exit and something on stderr. */
export function fails(r: RtResult): RtResult {
  if (r.code === 0) throw new Error(`expected failure: ${explain(r)}`);
  if (r.timedOut) throw new Error(`timed out instead of failing: ${explain(r)}`);
  expect(r.stderr.trim().length).toBeGreaterThan(0);
  return r;
}

/** Asserts the failure was reported as exactly one non-empty line on stderr. */
export function oneErrorLine(r: RtResult): string {
  fails(r);
  const lines = r.stderr.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected one line on stderr, got ${lines.length}: ${explain(r)}`);
  return lines[0]!;
}

export async function state(id: string): Promise<State> {
  const r = ok(await rt(["state", id]));
  return JSON.parse(r.stdout);
}

export async function statusOf(id: string): Promise<string | undefined> {
  const r = await rt(["state", id]);
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout).status;
}

export async function waitStatus(id: string, status: string, timeoutMs = 10_000): Promise<void> {
  await waitFor(async () => (await statusOf(id)) === status, { timeoutMs, what: `${id} to be ${status}` });
}

export async function create(b: Bundle, id = uniqueId(), opts: RtOptions & { args?: string[] } = {}) {
  const r = ok(await rt(["create", ...(opts.args ?? []), "--bundle", b.dir, id], opts));
  return { id, result: r, out: r.stdoutFile, err: r.stderrFile };
}

/** Best-effort removal used in finally blocks; the leak checker catches what it misses. */
export async function destroy(id: string): Promise<void> {
  await rt(["delete", "--force", id], { timeoutMs: 15_000 });
}

/** `run` in the foreground: create, start, wait, delete. */
export async function runFg(b: Bundle, opts: RtOptions & { id?: string; args?: string[] } = {}): Promise<RtResult> {
  const id = opts.id ?? uniqueId();
  const r = await rt(["run", ...(opts.args ?? []), "--bundle", b.dir, id], opts);
  if (r.timedOut) await destroy(id);
  return r;
}

/** Runs the container's process to completion and returns what it printed (exit 0 expected). */
export async function output(b: Bundle, opts: RtOptions & { id?: string; args?: string[] } = {}): Promise<string> {
  return ok(await runFg(b, opts)).stdout;
}

export function readFile(p: string): string {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

/** The pid of the first child of `pid` (unshare forks when asked for a pid namespace). */
export async function childOf(pid: number): Promise<number> {
  return waitFor(
    () => {
      const kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
      return kids ? Number(kids.split(" ")[0]) : 0;
    },
    { what: `child of ${pid}` },
  );
}

export function nsOf(pid: number | "self", type: string): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${type}`);
}

/** Same inode: works across mount namespaces, where /proc/PID/root reads as "/". */
export function sameFile(a: string, b: string): boolean {
  try {
    const x = fs.statSync(a);
    const y = fs.statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}
