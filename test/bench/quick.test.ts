// The benchmark is not a timed test: this only proves that it runs end to end and
// produces a complete report, so a broken bench is noticed in CI. Quick mode (engines
// included, crun left out) stays well under two minutes.
import { expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const repo = join(import.meta.dir, "../..");

test(
  "bench --quick measures every operation for dx-runtime and runc and writes its report",
  async () => {
    const p = Bun.spawn([process.execPath, "bench/run.ts", "--quick", "--no-build", "--no-crun"], {
      cwd: repo,
      stdout: "pipe",
      stderr: "pipe",
    });
    const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
    expect(code, `bench failed:\n${stdout}\n${stderr}`).toBe(0);
    const json = join(repo, "bench/results/latest-quick.json");
    expect(existsSync(json)).toBe(true);
    const report = JSON.parse(readFileSync(json, "utf8"));
    const text = JSON.stringify(report);
    for (const op of ["create", "start", "state", "kill", "delete", "run"]) expect(text).toContain(op);
    // state through copies paged in cold, for both: every timed call succeeded.
    for (const rt of ["dx-runtime", "runc"]) expect(report.samples[rt].stateCold.length).toBe(report.runs);
    // --version, the start-up alone, is timed in every lifecycle round for both.
    for (const rt of ["dx-runtime", "runc"]) expect(report.samples[rt].version.length).toBe(report.runs);
    // The empty program compiled like dx-runtime, the start-up floor, ran in every round.
    expect(report.samples["dx-runtime"].floor.length).toBe(report.runs);
    expect(report.notes.some((n: string) => n.startsWith("start-up floor "))).toBe(true);
    // The calls containerd's shim makes, each timed for both.
    for (const rt of ["dx-runtime", "runc"])
      for (const op of ["shimCreate", "shimState", "shimStart", "shimKill", "shimKillAll", "shimDelete", "shimDeleteGone"])
        expect(report.samples[rt][op]?.length).toBe(report.runs);
    // CPU for every timed call; page faults and task-clock per command under perf stat.
    for (const rt of ["dx-runtime", "runc"]) {
      expect(report.cpu[rt].create.length).toBe(report.runs);
      if (!report.notes.some((n: string) => n.startsWith("page faults and task-clock not measured")))
        for (const op of ["version", "create", "state", "start", "kill", "delete", "run", "shimStart"]) expect(report.faults[rt][op]?.[0]).toBeGreaterThan(0);
    }
    // ctr run and podman run end to end, unless the engine is not installed here.
    const skipped = (e: string) => report.notes.some((n: string) => n.startsWith(`${e} rows skipped`));
    for (const rt of ["dx-runtime", "runc"]) {
      if (!skipped("ctr")) expect(report.samples[rt].ctrRun?.length).toBeGreaterThan(0);
      if (!skipped("podman")) expect(report.samples[rt].podmanRun?.length).toBeGreaterThan(0);
      if (!skipped("ctr") && !skipped("CRI")) expect(report.samples[rt].criStopContainer?.length).toBeGreaterThan(0);
    }
    const md = readFileSync(join(repo, "bench/results/latest-quick.md"), "utf8");
    expect(md).toContain("dx/runc");
    expect(md).toContain("minor page faults");
  },
  { timeout: 300_000 },
);
