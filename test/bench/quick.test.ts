// The benchmark is not a timed test: this only proves that it runs end to end and
// produces a complete report, so a broken bench is noticed in CI.
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
    expect(readFileSync(join(repo, "bench/results/latest-quick.md"), "utf8")).toContain("dx/runc");
  },
  { timeout: 300_000 },
);
