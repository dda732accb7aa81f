// dx-runtime against runc (and crun) in one run, interleaved so that machine noise falls
// on every runtime alike. Usage: bun bench/run.ts [--quick] [--runs N] [--parallel N] [--no-crun] [--no-build]
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, release, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import minimist from "minimist";
import { LogFile, sleep, timed, type Timed } from "./lib/spawn";
import { summarize, type Summary } from "./lib/stats";
import { crunRuntime, CrunNamespace, plainRuntime, which, type Runtime } from "./lib/runtimes";
import { makeBundles } from "./lib/bundle";
import { waitingMemory, type WaitingMemory } from "./lib/memory";
import { dxParts, sizeOf, type SizeInfo } from "./lib/size";
import { markdown, verdicts, type Row } from "./lib/report";

const REPO = resolve(import.meta.dir, "..");
const DX = join(REPO, "dist/dx-runtime");
const BUN_DIR = join(REPO, "node_modules/@oven/bun-linux-x64/bin");
const OPS = ["create", "state", "start", "kill", "delete", "run"] as const;
type Op = (typeof OPS)[number] | "exec" | "stateCold" | "version" | "floor";

const argv = minimist(process.argv.slice(2), { boolean: ["quick", "crun", "build"], default: { crun: true, build: true }, string: ["runs", "parallel"] });
const quick = !!argv.quick;
const RUNS = Number(argv.runs ?? (quick ? 3 : 30));
const PARALLEL = Number(argv.parallel ?? (quick ? 5 : 50));
const PARALLEL_ROUNDS = quick ? 1 : 3;
const MEM_SAMPLES = quick ? 1 : 5;

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

async function waitStopped(rt: Runtime, log: LogFile, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const t = quiet(rt, log, ["state", id]);
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

function push(s: Samples, rt: Runtime, o: Op, ms: number): void {
  ((s[rt.name] ??= {})[o] ??= []).push(ms);
}

const rotate = <T>(xs: T[], k: number): T[] => xs.map((_, i) => xs[(i + k) % xs.length]!);

async function lifecycleRounds(
  rts: Runtime[],
  logs: Map<string, LogFile>,
  bundles: { trueBundle: string; sleepBundle: string },
  samples: Samples,
  memory: Record<string, WaitingMemory[]>,
  peakRss: Record<string, number[]>,
  tmpDir: string,
  floor: string | undefined,
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
      push(samples, rt, "create", c.ms);
      const s = op(rt, log, "state", ["state", id], true);
      if (s) {
        push(samples, rt, "state", s.ms);
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
      if (v) push(samples, rt, "version", v.ms);
      if (floor && rt.name === "dx-runtime") {
        const f = timed([floor], log, true);
        if (f.code === 0) push(samples, rt, "floor", f.ms);
        else failures.push({ runtime: rt.name, what: "start-up floor", err: f.err || `exit ${f.code}` });
      }
      const st = op(rt, log, "start", ["start", id]);
      if (st) push(samples, rt, "start", st.ms);
      const k = op(rt, log, "kill", ["kill", id, "KILL"]);
      if (k) push(samples, rt, "kill", k.ms);
      await waitStopped(rt, log, id);
      const d = op(rt, log, "delete", ["delete", id]);
      if (d) {
        push(samples, rt, "delete", d.ms);
        untrack(rt, id);
      } else removeQuietly(rt, log, id);

      if (i < MEM_SAMPLES) {
        const kib = peakRssOfCreate(rt, log, bundles.sleepBundle, `${id}m`, join(tmpDir, "time.out"));
        if (kib) (peakRss[rt.name] ??= []).push(kib);
      }

      const rid = `${id}r`;
      track(rt, rid);
      const r = op(rt, log, "run", ["run", "--bundle", bundles.trueBundle, rid]);
      if (r) push(samples, rt, "run", r.ms);
      // run removes its container on exit; this only catches one that did not
      removeQuietly(rt, log, rid);
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
      if (e) push(samples, rt, "exec", e.ms);
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
  const r = Bun.spawnSync([join(BUN_DIR, "bun"), "build", ...m[1]!.split(" "), src, "--outfile", out], {
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
      if (t.code === 0) push(samples, c.rt, "stateCold", t.ms);
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
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    say("cleaning up");
    try {
      cleanupAll(logs);
    } finally {
      ns.close();
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
    const crunBin = which("crun");
    let nsenterMs: number | undefined;
    if (crunBin && argv.crun !== false) {
      try {
        const nsPid = await ns.open();
        rts.push(crunRuntime(crunBin, tmp, nsPid));
        const l = new LogFile(join(tmp, "nsenter.log"));
        const ms: number[] = [];
        for (let i = 0; i < 10; i++) ms.push(timed(["nsenter", "-t", String(nsPid), "-m", "--wd=/", "/bin/true"], l).ms);
        nsenterMs = summarize(ms).median;
        l.close();
      } catch (e: any) {
        notes.push(`crun skipped: ${e.message}`);
      }
    }
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
    say(`runtimes: ${names.join(", ")}; ${RUNS} runs, ${PARALLEL} parallel creates x ${PARALLEL_ROUNDS}`);
    const load0 = loadavg();

    const samples: Samples = {};
    const memory: Record<string, WaitingMemory[]> = {};
    const peakRss: Record<string, number[]> = {};
    const floor = buildFloor(tmp);
    await lifecycleRounds(rts, logs, bundles, samples, memory, peakRss, tmp, floor);
    await execRounds(rts, logs, bundles.sleepBundle, samples);
    await coldRounds(rts, logs, bundles.sleepBundle, tmp, samples);
    const par = await parallelRounds(rts, tmp, bundles.sleepBundle);
    const sizes: Record<string, SizeInfo> = {};
    for (const rt of rts) sizes[rt.name] = sizeOf(rt.bin);
    sizes["dx-runtime"]!.parts = dxParts(REPO, sizes["dx-runtime"]!.binaryBytes);
    const load1 = loadavg();

    // ------------------------------------------------------------ table
    const per = <T>(f: (rt: string) => T | undefined) => Object.fromEntries(names.map((n) => [n, f(n)]));
    const sum = (o: Op) => per((n) => (samples[n]?.[o]?.length ? summarize(samples[n]![o]!) : undefined));
    const memMed = (f: (m: WaitingMemory) => number) => per((n) => (memory[n]?.length ? summarize(memory[n]!.map(f)).median : undefined));
    const rows: Row[] = [
      { metric: "create", unit: "ms", values: sum("create"), target: 0.8 },
      { metric: "start", unit: "ms", values: sum("start"), target: 1.0 },
      { metric: "state", unit: "ms", values: sum("state"), target: 1.0 },
      { metric: "kill", unit: "ms", values: sum("kill"), target: 1.0 },
      { metric: "delete", unit: "ms", values: sum("delete"), target: 1.0 },
      { metric: "run /bin/true", unit: "ms", values: sum("run"), target: 0.8 },
      { metric: "state, binary paged in by exec (as after a reboot)", unit: "ms", values: sum("stateCold") },
      { metric: "`--version`: start-up and exit alone", unit: "ms", values: sum("version") },
      { metric: "an empty program compiled like dx-runtime: the floor of any compiled Bun command", unit: "ms", values: sum("floor") },
      ...(["state", "start", "kill", "delete"] as const).map((o) => ({
        metric: `${o} minus \`--version\`: the command's own work`,
        unit: "ms" as const,
        values: per((n) => ownWork(samples[n]?.[o], samples[n]?.version)),
      })),
      { metric: "exec /bin/true", unit: "ms", values: sum("exec") },
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
      { metric: "peak RSS of the `create` process", unit: "KiB", values: per((n) => (peakRss[n]?.length ? summarize(peakRss[n]!).median : undefined)) },
      { metric: "binary size", unit: "MiB", values: per((n) => sizes[n]!.binaryBytes / 2 ** 20) },
      {
        metric: "binary + non-glibc shared libs",
        unit: "MiB",
        values: per((n) => (sizes[n]!.binaryBytes + sizes[n]!.sharedLibs.reduce((a, l) => a + l.bytes, 0)) / 2 ** 20),
      },
    ];
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
    for (const rt of rts) if (rt.wrapperNote) notes.push(`${rt.wrapperNote}; that wrapper alone costs ${nsenterMs?.toFixed(1) ?? "?"} ms per call, included in crun's times`);
    notes.push(
      `dx-runtime binary: ${sizes["dx-runtime"]!.parts!.map((p) => `${p.name} ${(p.bytes / 2 ** 20).toFixed(1)} MiB`).join("; ")}`,
    );
    for (const n of names) if (par[n]?.errors.length) notes.push(`${n} parallel create errors: ${par[n]!.errors.join(" | ")}`);
    if (failures.length) notes.push(`${failures.length} failed invocations (see .json); first: ${failures[0]!.runtime} ${failures[0]!.what}: ${failures[0]!.err}`);
    const md = markdown(rows, names, header, notes);
    const v = verdicts(rows);

    const dir = join(REPO, "bench/results");
    mkdirSync(dir, { recursive: true });
    const base = quick ? "latest-quick" : "latest";
    writeFileSync(join(dir, `${base}.md`), md);
    writeFileSync(
      join(dir, `${base}.json`),
      JSON.stringify({ date: new Date().toISOString(), kernel: release(), cpus: cpus().length, quick, runs: RUNS, parallel: PARALLEL, samples, memory, peakRss, parallelResults: par, sizes, verdicts: v, failures, notes }, null, 2) + "\n",
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
