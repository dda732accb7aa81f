// dx-runtime against runc (and crun) in one run, interleaved so that machine noise falls
// on every runtime alike. Usage: bun bench/run.ts [--quick] [--runs N] [--parallel N] [--no-crun] [--no-build]
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import minimist from "minimist";
import { counted, LogFile, sleep, timed, type Timed } from "./lib/spawn";
import { summarize, type Summary } from "./lib/stats";
import { crunRuntime, CrunNamespace, crunWrapper, plainRuntime, which, type Runtime } from "./lib/runtimes";
import { closeShim, removeCgroupParent, shimArgv, shimCgroupParent, shimCreate, shimSetup, type ShimSetup } from "./lib/shim";
import { clearWrapperCalls, Engines, wrapperCalls } from "./lib/engines";
import { CriBench } from "./lib/cri";
import { makeBundles } from "./lib/bundle";
import { waitingMemory, type WaitingMemory } from "./lib/memory";
import { dxParts, sizeOf, type SizeInfo } from "./lib/size";
import { markdown, verdicts, type Row } from "./lib/report";

const REPO = resolve(import.meta.dir, "..");
const DX = join(REPO, "dist/dx-runtime");
const BUN_DIR = join(REPO, "node_modules/@oven/bun-linux-x64/bin");
const OPS = ["create", "state", "start", "kill", "delete", "run"] as const;
const SHIM_OPS = ["shimCreate", "shimState", "shimStart", "shimKill", "shimKillAll", "shimDelete", "shimDeleteGone"] as const;
type Op =
  | (typeof OPS)[number]
  | (typeof SHIM_OPS)[number]
  | "exec"
  | "stateCold"
  | "version"
  | "floor"
  | "ctrRun"
  | "podmanRun"
  | "criStopContainer"
  | "criStopPod"
  | "wrapper";

const argv = minimist(process.argv.slice(2), {
  boolean: ["quick", "crun", "build", "engines"],
  default: { crun: true, build: true, engines: true },
  string: ["runs", "parallel", "compare", "busy", "engine-runs"],
});
const quick = !!argv.quick;
const RUNS = Number(argv.runs ?? (quick ? 3 : 30));
const PARALLEL = Number(argv.parallel ?? (quick ? 5 : 50));
const PARALLEL_ROUNDS = quick ? 1 : 3;
const MEM_SAMPLES = quick ? 1 : 5;
/** Rounds of every command under `perf stat` (page faults, task-clock). */
const COUNT_ROUNDS = quick ? 1 : 5;
const ENGINE_RUNS = Number(argv["engine-runs"] ?? (quick ? 1 : 10));
/** Busy loops kept running through the whole run: every runtime measured under load. */
const BUSY = Number(argv.busy ?? 0);

const say = (m: string) => process.stderr.write(`bench: ${m}\n`);

interface Failure {
  runtime: string;
  what: string;
  err: string;
}

const failures: Failure[] = [];
const notes: string[] = [];
const live = new Map<string, { rt: Runtime; ids: Set<string> }>();

function track(rt: Runtime, id: string): void {
  if (!live.has(rt.name)) live.set(rt.name, { rt, ids: new Set() });
  live.get(rt.name)!.ids.add(id);
}
function untrack(rt: Runtime, id: string): void {
  live.get(rt.name)?.ids.delete(id);
}

// ---------------------------------------------------------------- build

function newestSource(): number {
  let newest = statSync(join(REPO, "package.json")).mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== "build") walk(p);
      } else if (/\.(ts|js|json|c|h)$|^Makefile$/.test(e.name)) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  walk(join(REPO, "src"));
  walk(join(REPO, "native"));
  return newest;
}

function ensureBuilt(): void {
  const stale = !existsSync(DX) || statSync(DX).mtimeMs < newestSource();
  if (!stale || argv.build === false) {
    if (!existsSync(DX)) throw new Error(`${DX} is missing`);
    return;
  }
  say("building dx-runtime (npm run build)");
  const r = Bun.spawnSync(["npm", "run", "build"], {
    cwd: REPO,
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, PATH: `${join(REPO, "node_modules/.bin")}:${BUN_DIR}:${process.env.PATH}` },
  });
  if (r.exitCode !== 0) {
    const tail = (r.stderr.toString() + r.stdout.toString()).trim().split("\n").slice(-5).join(" | ");
    if (!existsSync(DX)) throw new Error(`build failed: ${tail}`);
    notes.push(`the build failed (${tail}); measured the existing dist/dx-runtime`);
    say("build failed, using the existing binary");
  }
}

// ---------------------------------------------------------------- one operation

function op(rt: Runtime, log: LogFile, what: string, args: string[], capture = false): Timed | undefined {
  const t = timed(rt.argv(...args), log, capture);
  if (t.code !== 0) {
    failures.push({ runtime: rt.name, what, err: t.err || `exit ${t.code}` });
    return undefined;
  }
  return t;
}

function quiet(rt: Runtime, log: LogFile, args: string[]): Timed {
  return timed(rt.argv(...args), log, true);
}

async function waitStopped(rt: Runtime, log: LogFile, id: string, call: (...a: string[]) => string[] = rt.argv): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const t = timed(call("state", id), log, true);
    if (t.code !== 0) return;
    try {
      if (JSON.parse(t.out).status === "stopped") return;
    } catch {}
    await sleep(2);
  }
}

function removeQuietly(rt: Runtime, log: LogFile, id: string): void {
  quiet(rt, log, ["delete", "--force", id]);
  untrack(rt, id);
}

/**
 * What a command costs beyond start-up: the difference of the medians of the command and
 * of `--version`, both timed in the same interleaved rounds.
 */
function ownWork(cmd: number[] | undefined, version: number[] | undefined): number | undefined {
  if (!cmd?.length || !version?.length) return undefined;
  return summarize(cmd).median - summarize(version).median;
}

/**
 * How much of runc's time for each hot command is left once a compiled Bun program has
 * started and exited: the room dx-runtime's own code has under a ratio of 1.0.
 */
function roomAboveFloor(samples: Samples): string | undefined {
  const floor = samples["dx-runtime"]?.floor;
  if (!floor?.length) return undefined;
  const f = summarize(floor).median;
  const parts: string[] = [];
  for (const o of ["state", "start", "kill", "delete"] as const) {
    const runc = samples["runc"]?.[o];
    const dx = samples["dx-runtime"]?.[o];
    if (!runc?.length || !dx?.length) continue;
    const r = summarize(runc).median;
    parts.push(`${o} ${(r - f).toFixed(1)} ms (dx-runtime's code takes ${(summarize(dx).median - f).toFixed(1)})`);
  }
  return `start-up floor ${f.toFixed(1)} ms: runc's time minus the floor, the room left for dx-runtime's own code at a ratio of 1.0: ${parts.join(", ")}`;
}

// ---------------------------------------------------------------- phases

type Samples = Record<string, Partial<Record<Op, number[]>>>;
const samples: Samples = {};

/** CPU (user + system) of every timed call, beside its wall time in the samples. */
const cpuSamples: Samples = {};
/** Minor page faults and task-clock of each command, from untimed calls under `perf stat`. */
const faultSamples: Samples = {};
const clockSamples: Samples = {};

function push(s: Samples, rt: Runtime | string, o: Op, t: Timed | number): void {
  const name = typeof rt === "string" ? rt : rt.name;
  ((s[name] ??= {})[o] ??= []).push(typeof t === "number" ? t : t.ms);
  if (typeof t !== "number") ((cpuSamples[name] ??= {})[o] ??= []).push(t.cpuMs);
}

const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

/** Shim-style containers alive, for cleanup: they live under their own --root. */
const shimLive = new Map<string, { rt: Runtime; sh: ShimSetup }>();

/**
 * One task as containerd's runc shim runs it: create (stdio on the shim's fifo), state,
 * start, kill 9, state until stopped, delete. With `perfOut`, each call runs under
 * `perf stat` and its faults and task-clock are recorded instead of its time.
 */
async function shimCycle(rt: Runtime, log: LogFile, sh: ShimSetup, id: string, perfOut?: string): Promise<void> {
  const call = (...a: string[]) => shimArgv(rt, sh, ...a);
  shimLive.set(id, { rt, sh });
  const step = (o: Op, args: string[], stdio?: number): boolean => {
    if (perfOut) {
      const c = counted(call(...args), log, perfOut, stdio);
      if (c.code !== 0) failures.push({ runtime: rt.name, what: `${o} (counted)`, err: c.err || `exit ${c.code}` });
      else {
        push(faultSamples, rt, o, c.minorFaults);
        push(clockSamples, rt, o, c.taskClockMs);
      }
      return c.code === 0;
    }
    const t = timed(call(...args), log, false, stdio);
    if (t.code !== 0) failures.push({ runtime: rt.name, what: o, err: t.err || `exit ${t.code}` });
    else push(samples, rt, o, t);
    return t.code === 0;
  };
  try {
    if (!step("shimCreate", shimCreate(sh, id), sh.stdio)) return;
    step("shimState", ["state", id]);
    if (!step("shimStart", ["start", id])) return;
    step("shimKill", ["kill", id, "9"]);
    await waitStopped(rt, log, id, call);
    // After the init's exit the shim signals what may be left in the cgroup, and after
    // delete it makes sure with --force (as StopContainer does).
    step("shimKillAll", ["kill", "--all", id, "9"]);
    if (step("shimDelete", ["delete", id])) shimLive.delete(id);
    step("shimDeleteGone", ["delete", "--force", id]);
  } finally {
    if (shimLive.has(id)) {
      timed(call("delete", "--force", id), log, true);
      shimLive.delete(id);
    }
  }
}

/** Every command once per runtime under `perf stat`: minor page faults and task-clock. */
async function countedRounds(
  rts: Runtime[],
  logs: Map<string, LogFile>,
  bundles: { trueBundle: string; sleepBundle: string },
  shims: Map<string, ShimSetup>,
  tmp: string,
  nsPid: number | undefined,
): Promise<void> {
  const perfOut = join(tmp, "perf.out");
  const probe = Bun.spawnSync(["perf", "stat", "-x,", "-e", "minor-faults,task-clock", "-o", perfOut, "--", "/bin/true"]);
  if (probe.exitCode !== 0) {
    notes.push("page faults and task-clock not measured: `perf stat` does not run here");
    return;
  }
  for (let i = 0; i < COUNT_ROUNDS; i++) {
    for (const rt of rotate(rts, i)) {
      const log = logs.get(rt.name)!;
      const id = `bx${process.pid}-${rt.name}-c${i}`;
      const step = (o: Op, args: string[]): boolean => {
        const c = counted(rt.argv(...args), log, perfOut);
        if (c.code !== 0) failures.push({ runtime: rt.name, what: `${o} (counted)`, err: c.err || `exit ${c.code}` });
        else {
          push(faultSamples, rt, o, c.minorFaults);
          push(clockSamples, rt, o, c.taskClockMs);
        }
        return c.code === 0;
      };
      step("version", ["--version"]);
      track(rt, id);
      if (step("create", ["create", "--bundle", bundles.sleepBundle, id])) {
        step("state", ["state", id]);
        if (step("start", ["start", id])) step("exec", ["exec", id, "/bin/true"]);
        step("kill", ["kill", id, "KILL"]);
        await waitStopped(rt, log, id);
        if (step("delete", ["delete", id])) untrack(rt, id);
      }
      removeQuietly(rt, log, id);
      const rid = `${id}r`;
      track(rt, rid);
      step("run", ["run", "--bundle", bundles.trueBundle, rid]);
      removeQuietly(rt, log, rid);
      const sh = shims.get(rt.name);
      if (sh) await shimCycle(rt, log, sh, `${id}s`, perfOut);
      if (rt.name === "crun" && nsPid) {
        const c = counted(["nsenter", "-t", String(nsPid), "-m", "--wd=/", "/bin/true"], log, perfOut);
        if (c.code === 0) {
          push(faultSamples, rt, "wrapper", c.minorFaults);
          push(clockSamples, rt, "wrapper", c.taskClockMs);
        }
      }
    }
  }
  say("counted rounds done");
}

/** `ctr run --rm` and `podman run --rm` end to end, interleaved over the runtimes. */
function engineRounds(rts: Runtime[], engines: Engines, crun: { path: string; calls: string } | undefined, crunCalls: Record<string, number[]>): void {
  for (let i = 0; i < ENGINE_RUNS; i++) {
    for (const rt of rotate(rts, i)) {
      const bin = rt.name === "crun" ? crun?.path : rt.bin;
      if (!bin) continue;
      for (const [o, go] of [
        ["ctrRun", engines.hasCtr ? (b: string) => engines.ctrRun(b) : undefined],
        ["podmanRun", engines.hasPodman ? (b: string) => engines.podmanRun(b) : undefined],
      ] as const) {
        if (!go) continue;
        if (crun) clearWrapperCalls(crun.calls);
        const r = go(bin);
        if (r.code !== 0) {
          failures.push({ runtime: rt.name, what: o, err: r.err });
          continue;
        }
        push(samples, rt, o, r.ms);
        if (rt.name === "crun" && crun) (crunCalls[o] ??= []).push(wrapperCalls(crun.calls));
      }
    }
  }
  say("engines done");
}

/** StopContainer and StopPodSandbox through the CRI, interleaved over the runtimes. */
async function criRounds(rts: Runtime[], crun: { path: string; calls: string } | undefined, crunCalls: Record<string, number[]>): Promise<void> {
  const bins: Record<string, string> = {};
  for (const rt of rts) {
    const bin = rt.name === "crun" ? crun?.path : rt.bin;
    if (bin) bins[rt.name] = bin;
  }
  const cri = new CriBench();
  try {
    await cri.open(bins);
    for (let i = 0; i < ENGINE_RUNS; i++) {
      for (const rt of rotate(rts, i)) {
        if (!bins[rt.name]) continue;
        const around =
          rt.name === "crun" && crun
            ? { before: () => clearWrapperCalls(crun.calls), after: (o: Op) => (crunCalls[o] ??= []).push(wrapperCalls(crun.calls)) }
            : undefined;
        try {
          const t = await cri.stops(rt.name, around);
          push(samples, rt, "criStopContainer", t.stopContainer);
          push(samples, rt, "criStopPod", t.stopPod);
        } catch (e: any) {
          failures.push({ runtime: rt.name, what: "CRI pod", err: String(e?.message ?? e).split("\n")[0]! });
        }
      }
    }
  } catch (e: any) {
    notes.push(`CRI rows skipped: ${String(e?.message ?? e).split("\n")[0]}`);
  } finally {
    await cri.close().catch(() => {});
  }
  say("CRI done");
}

async function lifecycleRounds(
  rts: Runtime[],
  logs: Map<string, LogFile>,
  bundles: { trueBundle: string; sleepBundle: string },
  samples: Samples,
  memory: Record<string, WaitingMemory[]>,
  peakRss: Record<string, number[]>,
  peakAnon: Record<string, number[]>,
  tmpDir: string,
  floor: string | undefined,
  shims: Map<string, ShimSetup>,
): Promise<void> {
  for (let i = 0; i < RUNS; i++) {
    for (const rt of rotate(rts, i)) {
      const log = logs.get(rt.name)!;
      const id = `bx${process.pid}-${rt.name}-${i}`;
      track(rt, id);
      const c = op(rt, log, "create", ["create", "--bundle", bundles.sleepBundle, id]);
      if (!c) {
        removeQuietly(rt, log, id);
        continue;
      }
      push(samples, rt, "create", c);
      const s = op(rt, log, "state", ["state", id], true);
      if (s) {
        push(samples, rt, "state", s);
        if (i < MEM_SAMPLES) {
          try {
            (memory[rt.name] ??= []).push(waitingMemory(JSON.parse(s.out).pid));
          } catch (e: any) {
            failures.push({ runtime: rt.name, what: "memory", err: e.message });
          }
        }
      }
      // Start-up and exit with no work: what every command pays before its own.
      const v = op(rt, log, "--version", ["--version"], true);
      if (v) push(samples, rt, "version", v);
      if (floor && rt.name === "dx-runtime") {
        const f = timed([floor], log, true);
        if (f.code === 0) push(samples, rt, "floor", f);
        else failures.push({ runtime: rt.name, what: "start-up floor", err: f.err || `exit ${f.code}` });
      }
      const st = op(rt, log, "start", ["start", id]);
      if (st) push(samples, rt, "start", st);
      const k = op(rt, log, "kill", ["kill", id, "KILL"]);
      if (k) push(samples, rt, "kill", k);
      await waitStopped(rt, log, id);
      const d = op(rt, log, "delete", ["delete", id]);
      if (d) {
        push(samples, rt, "delete", d);
        untrack(rt, id);
      } else removeQuietly(rt, log, id);

      if (i < MEM_SAMPLES) {
        const kib = peakRssOfCreate(rt, log, bundles.sleepBundle, `${id}m`, join(tmpDir, "time.out"));
        if (kib) (peakRss[rt.name] ??= []).push(kib);
        const anon = await peakAnonOfCreate(rt, log, bundles.sleepBundle, `${id}a`);
        if (anon) (peakAnon[rt.name] ??= []).push(anon);
      }

      const rid = `${id}r`;
      track(rt, rid);
      const r = op(rt, log, "run", ["run", "--bundle", bundles.trueBundle, rid]);
      if (r) push(samples, rt, "run", r);
      // run removes its container on exit; this only catches one that did not
      removeQuietly(rt, log, rid);

      const sh = shims.get(rt.name);
      if (sh) await shimCycle(rt, log, sh, `${id}s`);
    }
    if ((i + 1) % 10 === 0 || i + 1 === RUNS) say(`lifecycle ${i + 1}/${RUNS}`);
  }
}

/** Peak RSS of the runtime process through one create, from wait4 as GNU time reports it; untimed. */
function peakRssOfCreate(rt: Runtime, log: LogFile, bundle: string, id: string, out: string): number | undefined {
  track(rt, id);
  log.reset();
  const r = Bun.spawnSync(["/usr/bin/time", "-f", "%M", "-o", out, ...rt.argv("create", "--bundle", bundle, id)], {
    stdin: "ignore",
    stdout: log.fd,
    stderr: log.fd,
  });
  let kib: number | undefined;
  if (r.exitCode === 0) kib = Number(readFileSync(out, "utf8").trim().split("\n").pop());
  else failures.push({ runtime: rt.name, what: "peak RSS of create", err: log.text().trim().split("\n").pop() ?? "" });
  removeQuietly(rt, log, id);
  return kib;
}

/**
 * The create process's anonymous memory at its peak, sampled from smaps_rollup until it
 * exits: what it costs the host, where peak RSS also counts the pages of the executable
 * it maps from the page cache (shared by every process of that binary); untimed.
 */
async function peakAnonOfCreate(rt: Runtime, log: LogFile, bundle: string, id: string): Promise<number | undefined> {
  track(rt, id);
  log.reset();
  const p = Bun.spawn(rt.argv("create", "--bundle", bundle, id), { stdin: "ignore", stdout: log.fd, stderr: log.fd });
  let peak = 0;
  for (;;) {
    let text = "";
    try {
      text = readFileSync(`/proc/${p.pid}/smaps_rollup`, "utf8");
    } catch {}
    const m = /^Anonymous:\s+(\d+) kB/m.exec(text);
    if (m) peak = Math.max(peak, Number(m[1]));
    // Nothing mapped: exited (a zombie until reaped), or for a moment in execve (wrappers).
    else if (!/^\d+ \(.*\) [^ZX] /s.test(procStat(p.pid))) break;
  }
  const ok = (await p.exited) === 0;
  if (!ok) failures.push({ runtime: rt.name, what: "peak anonymous memory of create", err: log.text().trim().split("\n").pop() ?? "" });
  removeQuietly(rt, log, id);
  return ok && peak ? peak : undefined;
}

function procStat(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return "";
  }
}

async function execRounds(rts: Runtime[], logs: Map<string, LogFile>, sleepBundle: string, samples: Samples): Promise<void> {
  const ready: Runtime[] = [];
  for (const rt of rts) {
    const log = logs.get(rt.name)!;
    const id = `bx${process.pid}-${rt.name}-exec`;
    track(rt, id);
    if (op(rt, log, "exec: create", ["create", "--bundle", sleepBundle, id]) && op(rt, log, "exec: start", ["start", id])) ready.push(rt);
  }
  for (let i = 0; i < RUNS; i++) {
    for (const rt of rotate(ready, i)) {
      const e = op(rt, logs.get(rt.name)!, "exec", ["exec", `bx${process.pid}-${rt.name}-exec`, "/bin/true"]);
      if (e) push(samples, rt, "exec", e);
    }
  }
  for (const rt of rts) {
    const log = logs.get(rt.name)!;
    const id = `bx${process.pid}-${rt.name}-exec`;
    quiet(rt, log, ["kill", id, "KILL"]);
    await waitStopped(rt, log, id);
    removeQuietly(rt, log, id);
  }
  say("exec done");
}

/**
 * A copy of the binary written in one go, as an install writes it. How a binary's pages
 * got into the page cache changes what every call costs: a file just written sits in
 * large folios, one faulted in by exec in 4 KiB pages, and a binary used for a while
 * (dist/dx-runtime through a test run, say) drifts between the two. Measuring copies
 * made at the start of each run puts both runtimes on the same footing every time.
 */
function installed(src: string, tmp: string, name: string): string {
  const dir = join(tmp, "bin");
  mkdirSync(dir, { recursive: true });
  const dst = join(dir, name);
  writeFileSync(dst, readFileSync(src), { mode: 0o755 });
  return dst;
}

/**
 * A program with no code beyond printing a line and exiting, compiled by the same Bun
 * with the same flags as dx-runtime: what any command of a compiled Bun binary costs
 * before its own code loads. Written fresh into the temp dir, like the installed copies.
 */
function buildFloor(tmp: string): string | undefined {
  const script: string = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).scripts.build;
  const m = / build (--compile .*?) src\/main\.ts --outfile /.exec(script);
  if (!m) {
    notes.push("the start-up floor was not measured: no `bun build --compile` in package.json's build script");
    return undefined;
  }
  const src = join(tmp, "floor.ts");
  writeFileSync(src, 'console.log("floor");\nprocess.exit(0);\n');
  const out = join(tmp, "bin", "floor");
  // The floor has none of dx-runtime's functions to lay out.
  const flags = m[1]!.split(" ").filter((f) => !f.startsWith("--bytecode-order"));
  const r = Bun.spawnSync([join(BUN_DIR, "bun"), "build", ...flags, src, "--outfile", out], {
    cwd: tmp,
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) {
    failures.push({ runtime: "dx-runtime", what: "build the start-up floor", err: r.stderr.toString().trim().split("\n").pop() ?? "" });
    return undefined;
  }
  return out;
}

/**
 * state through a copy of each binary whose page cache was dropped, as after a reboot.
 * The kernel then maps an executable in 4 KiB pages as it faults them in, where a file
 * just written (a fresh build, an install) sits in large folios; a large binary pays for
 * that on every call until its pages are evicted.
 */
async function coldRounds(rts: Runtime[], logs: Map<string, LogFile>, sleepBundle: string, tmp: string, samples: Samples): Promise<void> {
  const cold: { rt: Runtime; bin: string; id: string }[] = [];
  for (const rt of rts.filter((r) => r.name !== "crun")) {
    const log = logs.get(rt.name)!;
    const id = `bx${process.pid}-${rt.name}-cold`;
    track(rt, id);
    if (!op(rt, log, "cold: create", ["create", "--bundle", sleepBundle, id])) continue;
    const bin = join(tmp, `cold-${rt.name}`);
    copyFileSync(rt.bin, bin);
    // Written back first: dirty pages are not dropped.
    const dropped =
      Bun.spawnSync(["sync", bin]).exitCode === 0 &&
      Bun.spawnSync(["dd", `if=${bin}`, "iflag=nocache", "count=0", "status=none"]).exitCode === 0;
    if (!dropped) {
      failures.push({ runtime: rt.name, what: "cold: drop the page cache", err: "sync or dd failed" });
      continue;
    }
    // The first call reads the binary from disk; what is timed is every call after it.
    timed([bin, "--root", rt.root, "state", id], log);
    cold.push({ rt, bin, id });
  }
  for (let i = 0; i < RUNS; i++) {
    for (const c of rotate(cold, i)) {
      const t = timed([c.bin, "--root", c.rt.root, "state", c.id], logs.get(c.rt.name)!);
      if (t.code === 0) push(samples, c.rt, "stateCold", t);
      else failures.push({ runtime: c.rt.name, what: "state (cold)", err: t.err });
    }
  }
  for (const c of cold) {
    const log = logs.get(c.rt.name)!;
    quiet(c.rt, log, ["kill", c.id, "KILL"]);
    await waitStopped(c.rt, log, c.id);
    removeQuietly(c.rt, log, c.id);
    rmSync(c.bin, { force: true });
  }
  say("cold state done");
}

interface ParallelResult {
  wallMs: number[];
  failed: number;
  attempted: number;
  errors: string[];
}

async function parallelRounds(rts: Runtime[], tmp: string, sleepBundle: string): Promise<Record<string, ParallelResult>> {
  const out: Record<string, ParallelResult> = {};
  for (let round = 0; round < PARALLEL_ROUNDS; round++) {
    for (const rt of rotate(rts, round)) {
      const res = (out[rt.name] ??= { wallMs: [], failed: 0, attempted: 0, errors: [] });
      const ids = Array.from({ length: PARALLEL }, (_, j) => `bx${process.pid}-${rt.name}-p${round}-${j}`);
      ids.forEach((id) => track(rt, id));
      const logs = ids.map((_, j) => new LogFile(join(tmp, `par-${rt.name}-${j}.log`)));
      const t0 = performance.now();
      const procs = ids.map((id, j) =>
        Bun.spawn(rt.argv("create", "--bundle", sleepBundle, id), { stdin: "ignore", stdout: logs[j]!.fd, stderr: logs[j]!.fd }),
      );
      const codes = await Promise.all(procs.map((p) => p.exited));
      res.wallMs.push(performance.now() - t0);
      res.attempted += ids.length;
      codes.forEach((code, j) => {
        if (code !== 0) {
          res.failed++;
          if (res.errors.length < 3) res.errors.push(logs[j]!.text().trim().split("\n").pop() ?? `exit ${code}`);
        }
      });
      // Cleanup is not timed; runs a few at a time so it does not starve the next round.
      const cleanLog = logs[0]!;
      for (const id of ids) removeQuietly(rt, cleanLog, id);
      logs.forEach((l) => l.close());
    }
    say(`parallel round ${round + 1}/${PARALLEL_ROUNDS}`);
  }
  return out;
}

// ---------------------------------------------------------------- cleanup

function cleanupAll(logs: Map<string, LogFile>): void {
  for (const { rt, ids } of live.values()) {
    const log = logs.get(rt.name);
    if (!log) continue;
    for (const id of [...ids]) {
      quiet(rt, log, ["kill", id, "KILL"]);
      quiet(rt, log, ["delete", "--force", id]);
    }
    // whatever the tracking missed (a create killed half-way, say)
    const l = quiet(rt, log, ["list", "-q"]);
    for (const id of l.out.split("\n").map((x) => x.trim()).filter(Boolean)) quiet(rt, log, ["delete", "--force", id]);
    ids.clear();
  }
  for (const [id, { rt, sh }] of shimLive) {
    const log = logs.get(rt.name);
    if (!log) continue;
    timed(shimArgv(rt, sh, "kill", id, "9"), log, true);
    timed(shimArgv(rt, sh, "delete", "--force", id), log, true);
  }
  shimLive.clear();
}

// ---------------------------------------------------------------- main

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error("run as root: containers need it");
  ensureBuilt();
  const runcBin = which("runc");
  if (!runcBin) throw new Error("runc not found");
  const tmp = mkdtempSync(join(tmpdir(), "dx-bench-"));
  const logs = new Map<string, LogFile>();
  const ns = new CrunNamespace();
  const shims = new Map<string, ShimSetup>();
  const engines = new Engines();
  const busy: ReturnType<typeof Bun.spawn>[] = [];
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    say("cleaning up");
    try {
      for (const b of busy) b.kill(9);
      cleanupAll(logs);
    } finally {
      ns.close();
      shims.forEach(closeShim);
      removeCgroupParent(shimCgroupParent(process.pid));
      logs.forEach((l) => l.close());
      rmSync(tmp, { recursive: true, force: true });
    }
  };
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });

  try {
    const bundles = makeBundles(REPO, DX, tmp);
    const rts: Runtime[] = [plainRuntime("dx-runtime", installed(DX, tmp, "dx-runtime"), tmp), plainRuntime("runc", installed(runcBin, tmp, "runc"), tmp)];
    // Another dx-runtime binary (a baseline build) measured in the same rounds.
    if (argv.compare) rts.push(plainRuntime("dx-base", installed(resolve(String(argv.compare)), tmp, "dx-base"), tmp));
    const crunBin = which("crun");
    let nsenterMs: number | undefined;
    let nsenterCpu: number | undefined;
    let nsPid: number | undefined;
    let crunWrap: { path: string; calls: string } | undefined;
    let crunWrapMs: number | undefined;
    if (crunBin && argv.crun !== false) {
      try {
        nsPid = await ns.open();
        rts.push(crunRuntime(crunBin, tmp, nsPid));
        const l = new LogFile(join(tmp, "nsenter.log"));
        const ts = Array.from({ length: 10 }, () => timed(["nsenter", "-t", String(nsPid), "-m", "--wd=/", "/bin/true"], l));
        nsenterMs = summarize(ts.map((t) => t.ms)).median;
        nsenterCpu = summarize(ts.map((t) => t.cpuMs)).median;
        crunWrap = crunWrapper(crunBin, join(tmp, "bin"));
        // The engines' wrapper (unshare + sh) around /bin/true: its cost per call.
        const w = crunWrapper("/bin/true", join(tmp, "wtrue"));
        crunWrapMs = summarize(Array.from({ length: 10 }, () => timed([w.path], l).ms)).median;
        l.close();
      } catch (e: any) {
        notes.push(`crun skipped: ${e.message}`);
      }
    }
    for (let i = 0; i < BUSY; i++) busy.push(Bun.spawn(["sh", "-c", "while :; do :; done"], { stdio: ["ignore", "ignore", "ignore"] }));
    for (const rt of rts) logs.set(rt.name, new LogFile(join(tmp, `${rt.name}.log`)));

    // One container each, untimed: a runtime that cannot run the bundle at all is reported once.
    for (const rt of [...rts]) {
      const id = `bx${process.pid}-${rt.name}-probe`;
      track(rt, id);
      const t = quiet(rt, logs.get(rt.name)!, ["run", "--bundle", bundles.trueBundle, id]);
      removeQuietly(rt, logs.get(rt.name)!, id);
      if (t.code !== 0) {
        if (rt.name === "crun") {
          notes.push(`crun skipped: ${t.err}`);
          rts.splice(rts.indexOf(rt), 1);
        } else failures.push({ runtime: rt.name, what: "probe run", err: t.err });
      }
    }
    const names = rts.map((r) => r.name);
    for (const rt of rts) shims.set(rt.name, shimSetup(rt, tmp, bundles.sleepBundle, shimCgroupParent(process.pid)));
    say(`runtimes: ${names.join(", ")}; ${RUNS} runs, ${PARALLEL} parallel creates x ${PARALLEL_ROUNDS}${BUSY ? `; ${BUSY} busy loops` : ""}`);
    const load0 = loadavg();

    const memory: Record<string, WaitingMemory[]> = {};
    const peakRss: Record<string, number[]> = {};
    const peakAnon: Record<string, number[]> = {};
    const floor = buildFloor(tmp);
    await lifecycleRounds(rts, logs, bundles, samples, memory, peakRss, peakAnon, tmp, floor, shims);
    await execRounds(rts, logs, bundles.sleepBundle, samples);
    await countedRounds(rts, logs, bundles, shims, tmp, nsPid);
    await coldRounds(rts, logs, bundles.sleepBundle, tmp, samples);
    const par = await parallelRounds(rts, tmp, bundles.sleepBundle);
    const crunCalls: Record<string, number[]> = {};
    if (argv.engines !== false) {
      try {
        await engines.open();
        notes.push(...engines.notes);
        engineRounds(rts, engines, crunWrap, crunCalls);
        if (engines.hasCtr) await criRounds(rts, crunWrap, crunCalls);
      } catch (e: any) {
        failures.push({ runtime: "engines", what: "set up containerd and podman", err: e?.message ?? String(e) });
      } finally {
        await engines.close().catch((e) => failures.push({ runtime: "engines", what: "tear down", err: e?.message ?? String(e) }));
      }
    }
    const sizes: Record<string, SizeInfo> = {};
    for (const rt of rts) sizes[rt.name] = sizeOf(rt.bin);
    sizes["dx-runtime"]!.parts = dxParts(REPO, sizes["dx-runtime"]!.binaryBytes);
    const load1 = loadavg();

    // ------------------------------------------------------------ table
    // crun's second column: its times with the nsenter wrapper's own cost taken out.
    const BARE = "crun, no wrapper";
    const cols = names.includes("crun") ? [...names, BARE] : names;
    const per = <T>(f: (rt: string) => T | undefined) => Object.fromEntries(names.map((n) => [n, f(n)]));
    const med = (xs: number[] | undefined) => (xs?.length ? summarize(xs).median : undefined);
    const shift = (v: Summary | undefined, by: number | undefined): Summary | undefined =>
      v && by !== undefined ? { ...v, median: v.median - by, p90: v.p90 - by, min: v.min - by, max: v.max - by } : undefined;
    /** What the wrapper adds to one measurement of `o`: one nsenter, or the engines' calls through the script. */
    const wrapperMs = (o: Op): number | undefined =>
      o === "ctrRun" || o === "podmanRun" || o === "criStopContainer" || o === "criStopPod"
        ? crunWrapMs !== undefined && med(crunCalls[o]) !== undefined
          ? crunWrapMs * med(crunCalls[o])!
          : undefined
        : nsenterMs;
    const sum = (o: Op) => {
      const v: Record<string, Summary | number | undefined> = per((n) => (samples[n]?.[o]?.length ? summarize(samples[n]![o]!) : undefined));
      if (cols.includes(BARE)) v[BARE] = shift(v["crun"] as Summary | undefined, wrapperMs(o));
      return v;
    };
    const same = (v: Record<string, Summary | number | undefined>) => (cols.includes(BARE) ? { ...v, [BARE]: v["crun"] } : v);
    const own = (o: Op, base: Op = "version") => same(per((n) => ownWork(samples[n]?.[o], samples[n]?.[base])));
    const memMed = (f: (m: WaitingMemory) => number) => same(per((n) => (memory[n]?.length ? summarize(memory[n]!.map(f)).median : undefined)));
    const rows: Row[] = [
      { metric: "create", unit: "ms", values: sum("create"), target: 0.8 },
      { metric: "start", unit: "ms", values: sum("start"), target: 1.0 },
      { metric: "state", unit: "ms", values: sum("state"), target: 1.0 },
      { metric: "kill", unit: "ms", values: sum("kill"), target: 1.0 },
      { metric: "delete", unit: "ms", values: sum("delete"), target: 1.0 },
      { metric: "run /bin/true", unit: "ms", values: sum("run"), target: 0.8 },
      { metric: "exec /bin/true", unit: "ms", values: sum("exec"), target: 0.8 },
      { metric: "state, binary paged in by exec (as after a reboot)", unit: "ms", values: sum("stateCold") },
      { metric: "`--version`: start-up and exit alone", unit: "ms", values: sum("version") },
      { metric: "an empty program compiled like dx-runtime: the floor of any compiled Bun command", unit: "ms", values: sum("floor") },
      ...(["state", "start", "kill", "delete"] as const).map((o) => ({
        metric: `${o} minus \`--version\`: the command's own work`,
        unit: "ms" as const,
        values: own(o),
        target: 1.0,
      })),
      { metric: "shim: create --bundle --pid-file, stdio on fifos, cgroupsPath", unit: "ms", values: sum("shimCreate"), target: 0.8 },
      { metric: "shim: start", unit: "ms", values: sum("shimStart") },
      { metric: "shim: state", unit: "ms", values: sum("shimState") },
      { metric: "shim: kill 9", unit: "ms", values: sum("shimKill") },
      { metric: "shim: kill --all 9, once stopped", unit: "ms", values: sum("shimKillAll") },
      { metric: "shim: delete", unit: "ms", values: sum("shimDelete") },
      { metric: "shim: delete --force, once deleted", unit: "ms", values: sum("shimDeleteGone") },
      ...(["shimStart", "shimState", "shimKill", "shimKillAll", "shimDelete", "shimDeleteGone"] as const).map((o) => ({
        metric: `shim: ${{ shimStart: "start", shimState: "state", shimKill: "kill 9", shimKillAll: "kill --all 9", shimDelete: "delete", shimDeleteGone: "delete --force" }[o]} minus \`--version\`: its own work`,
        unit: "ms" as const,
        values: own(o),
        target: 1.0,
      })),
      { metric: "`ctr run --rm IMAGE true` through containerd's runc shim", unit: "ms", values: sum("ctrRun"), target: 1.0 },
      { metric: "`podman run --rm IMAGE true` through conmon", unit: "ms", values: sum("podmanRun") },
      { metric: "CRI StopContainer (SIGTERM, wait, delete)", unit: "ms", values: sum("criStopContainer"), target: 1.0 },
      { metric: "CRI StopPodSandbox", unit: "ms", values: sum("criStopPod"), target: 1.0 },
      {
        metric: `${PARALLEL} parallel creates, wall`,
        unit: "ms",
        values: per((n) => (par[n]?.wallMs.length ? summarize(par[n]!.wallMs) : undefined)),
        target: 0.8,
        extraOk: (par["dx-runtime"]?.failed ?? 1) === 0,
      },
      { metric: `${PARALLEL} parallel creates, failures`, unit: "count", values: per((n) => par[n]?.failed) },
      { metric: "waiting container RSS", unit: "KiB", values: memMed((m) => m.rssKiB), target: 0.2 },
      { metric: "waiting container PSS", unit: "KiB", values: memMed((m) => m.pssKiB) },
      { metric: "waiting container processes", unit: "count", values: memMed((m) => m.procs.length) },
      { metric: "peak RSS of the `create` process", unit: "KiB", values: per((n) => (peakRss[n]?.length ? summarize(peakRss[n]!).median : undefined)), target: 2.0 },
      {
        metric: "peak anonymous memory of the `create` process (RSS less the executable's page cache)",
        unit: "KiB",
        values: per((n) => (peakAnon[n]?.length ? summarize(peakAnon[n]!).median : undefined)),
      },
      { metric: "binary size", unit: "MiB", values: per((n) => sizes[n]!.binaryBytes / 2 ** 20) },
      {
        metric: "binary + non-glibc shared libs",
        unit: "MiB",
        values: per((n) => (sizes[n]!.binaryBytes + sizes[n]!.sharedLibs.reduce((a, l) => a + l.bytes, 0)) / 2 ** 20),
      },
    ];

    // Per command: wall time and CPU of the timed calls, minor faults and task-clock under perf.
    const wrapFaults = med(faultSamples["crun"]?.wrapper);
    const wrapClock = med(clockSamples["crun"]?.wrapper);
    const perCommand: string[] = [
      "",
      "Per command, medians: wall ms / CPU ms (user + system, getrusage) / minor page faults / task-clock ms (perf stat)",
      "",
      `| command | ${cols.join(" | ")} |`,
      `|---|${cols.map(() => "---:").join("|")}|`,
    ];
    const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(1));
    const f0 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? "–" : String(Math.round(x)));
    for (const o of ["version", "create", "state", "start", "kill", "delete", "run", "exec", ...SHIM_OPS] as Op[]) {
      const cell = (n: string) => {
        const src = n === BARE ? "crun" : n;
        const minus = (x: number | undefined, by: number | undefined) => (n === BARE ? (x === undefined || by === undefined ? undefined : x - by) : x);
        return [
          f1(minus(med(samples[src]?.[o]), nsenterMs)),
          f1(minus(med(cpuSamples[src]?.[o]), nsenterCpu)),
          f0(minus(med(faultSamples[src]?.[o]), wrapFaults)),
          f1(minus(med(clockSamples[src]?.[o]), wrapClock)),
        ].join(" / ");
      };
      perCommand.push(`| ${o} | ${cols.map(cell).join(" | ")} |`);
    }
    const version = (rt: Runtime) => quiet(rt, logs.get(rt.name)!, ["--version"]).out.split("\n")[0]?.trim() ?? "?";
    const header = [
      `# dx-runtime benchmark${quick ? " (quick)" : ""}`,
      "",
      `${new Date().toISOString()} · kernel ${release()} · ${cpus().length} × ${cpus()[0]?.model ?? "cpu"} · load ${load0[0]!.toFixed(2)} → ${load1[0]!.toFixed(2)}`,
      `${rts.map((rt) => version(rt)).join(" · ")} · ${RUNS} runs per op, interleaved; ${PARALLEL} parallel creates × ${PARALLEL_ROUNDS}`,
    ];
    for (const n of names) {
      const procs = memory[n]?.[0]?.procs.map((p) => p.comm).join(", ");
      if (procs) notes.push(`${n} while created: ${procs}`);
    }
    const floorNote = roomAboveFloor(samples);
    if (floorNote) notes.push(floorNote);
    for (const rt of rts)
      if (rt.wrapperNote)
        notes.push(
          `${rt.wrapperNote}; that wrapper alone costs ${nsenterMs?.toFixed(1) ?? "?"} ms per call (${crunWrapMs?.toFixed(1) ?? "?"} ms as the engines' wrapper script, ${med(crunCalls["ctrRun"]) ?? "?"} calls per ctr run, ${med(crunCalls["podmanRun"]) ?? "?"} per podman run), taken out in "${BARE}"`,
        );
    notes.push(
      `dx-runtime binary: ${sizes["dx-runtime"]!.parts!.map((p) => `${p.name} ${(p.bytes / 2 ** 20).toFixed(1)} MiB`).join("; ")}`,
    );
    for (const n of names) if (par[n]?.errors.length) notes.push(`${n} parallel create errors: ${par[n]!.errors.join(" | ")}`);
    if (failures.length) notes.push(`${failures.length} failed invocations (see .json); first: ${failures[0]!.runtime} ${failures[0]!.what}: ${failures[0]!.err}`);
    const md = markdown(rows, cols, header, notes) + perCommand.join("\n") + "\n";
    const v = verdicts(rows);

    const dir = join(REPO, "bench/results");
    mkdirSync(dir, { recursive: true });
    const base = quick ? "latest-quick" : "latest";
    writeFileSync(join(dir, `${base}.md`), md);
    writeFileSync(
      join(dir, `${base}.json`),
      JSON.stringify({ date: new Date().toISOString(), kernel: release(), cpus: cpus().length, quick, runs: RUNS, parallel: PARALLEL, busy: BUSY, samples, cpu: cpuSamples, faults: faultSamples, taskClock: clockSamples, crunCalls, memory, peakRss, peakAnon, parallelResults: par, sizes, verdicts: v, failures, notes }, null, 2) + "\n",
    );
    process.stdout.write(md);
    process.stdout.write("\n" + v.map((x) => `${x.pass ? "PASS" : "FAIL"}  ${x.metric}: dx/runc ${x.ratio.toFixed(2)} (target <= ${x.target})`).join("\n") + "\n");

    // Missed targets are results; a measurement that could not run is an error.
    const broken = failures.filter((f) => f.runtime !== "crun");
    const allParallelFailed = names.some((n) => n !== "crun" && par[n] && par[n]!.failed === par[n]!.attempted);
    if (broken.length || allParallelFailed) {
      say(`${broken.length} measurement(s) failed to run${allParallelFailed ? "; every parallel create failed" : ""}`);
      return 1;
    }
    return 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    say(`error: ${e?.message ?? e}`);
    process.exit(1);
  },
);
