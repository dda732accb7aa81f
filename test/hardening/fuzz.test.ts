// Hostile config.json files against `create`: each ends in one clear error line or in a
// working container (then deleted); never a hang, a crash, a stack trace or a leftover
// (the leak checker runs after every case). DXT_FUZZ_SEED and DXT_FUZZ_CASES vary the run.
import { beforeAll, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { create, currentSuite, defaultConfig, destroy, explain, makeBundle, ok, rootfsDir, rt, scratchDir, statusOf, uniqueId, useHarness } from "../lib/harness";
import { fuzzCases, fuzzProcessCases } from "./fuzz-gen";

useHarness("fuzz");

const SEED = Number(process.env.DXT_FUZZ_SEED ?? 20240131);
const COUNT = Number(process.env.DXT_FUZZ_CASES ?? 300);
const CASE_TIMEOUT_MS = 20_000;

let sharedRootfs = "";
beforeAll(() => {
  // One rootfs for every case: copying it 300 times would dominate the run.
  sharedRootfs = path.join(currentSuite().dir, "fuzz-rootfs");
  const r = spawnSync("cp", ["-a", rootfsDir(), sharedRootfs], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cp rootfs: ${r.stderr}`);
});

function base() {
  const c = defaultConfig(["true"]);
  c.root.path = sharedRootfs;
  return c;
}

// Where a crash shows: a JS stack frame, an unrendered value, or an internal error name.
const BAD = /\bat .*\.(ts|js):\d|undefined|\[object Object\]|TypeError|RangeError|ReferenceError|SyntaxError: JSON|Maximum call stack|panic|segmentation/i;

// Cases are built before the rootfs exists: the generator only needs the shape.
const cases = fuzzCases(() => {
  const c = defaultConfig(["true"]);
  c.root.path = "@ROOTFS@";
  return c;
}, SEED, COUNT);

for (const [i, c] of cases.entries()) {
  test(`fuzz ${i} (seed ${SEED}): ${c.name.slice(0, 120)}`, async () => {
    const dir = scratchDir("fz");
    fs.writeFileSync(path.join(dir, "config.json"), c.text.replaceAll('"@ROOTFS@"', JSON.stringify(sharedRootfs)));
    const id = uniqueId();
    const r = await rt(["create", "--bundle", dir, id], { timeoutMs: CASE_TIMEOUT_MS });
    try {
      if (r.timedOut) throw new Error(`hang: ${explain(r)}`);
      expect(r.signal).toBeNull();
      if (r.code === 0) {
        // Accepted: it must really be a container, and go away cleanly.
        expect(await statusOf(id)).toBe("created");
        const d = await rt(["delete", "--force", id]);
        if (d.code !== 0) throw new Error(`delete of an accepted config failed: ${explain(d)}`);
        return;
      }
      // Warnings about what was ignored may come first; the error itself is one line.
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/level=warning/.test(l));
      if (lines.length !== 1 || BAD.test(r.stderr) || r.stdout.trim() !== "") throw new Error(`unclear failure: ${explain(r)}`);
      // Bounded even when it quotes a huge value: an engine shows this line to its user.
      expect(lines[0]!.length).toBeLessThan(16_384);
      expect(await statusOf(id)).toBeUndefined();
    } finally {
      if (r.code === 0 || r.timedOut) await rt(["delete", "--force", id], { timeoutMs: 15_000 });
    }
  });
}

test("the generator is deterministic and covers every kind of case", () => {
  const again = fuzzCases(base, SEED, COUNT).map((c) => c.name);
  expect(again).toEqual(cases.map((c) => c.name));
  expect(cases.length).toBe(COUNT);
  for (const kind of ["raw:", "structural:", "random"]) expect(cases.some((c) => c.name.startsWith(kind))).toBe(true);
});

test(`hostile exec --process files (seed ${SEED}): clear errors, the container unharmed`, async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const { id } = await create(b);
  try {
    ok(await rt(["start", id]));
    const dir = scratchDir("fzp");
    const cases = fuzzProcessCases(() => defaultConfig(["true"]).process, SEED, 120);
    for (const [i, c] of cases.entries()) {
      const file = path.join(dir, `p${i}.json`);
      fs.writeFileSync(file, c.text);
      const r = await rt(["exec", "--process", file, id], { timeoutMs: CASE_TIMEOUT_MS });
      const what = `${c.name.slice(0, 120)}: ${explain(r)}`;
      if (r.timedOut || r.signal) throw new Error(`hang or crash: ${what}`);
      if (r.code === 0) continue;
      const lines = r.stderr.split("\n").filter((l) => l.trim() !== "" && !/level=warning/.test(l));
      // The exec'd process may fail itself (exit status, its own stderr): only the runtime's lines are judged.
      const mine = lines.filter((l) => l.startsWith("dx-runtime:") || /level=error/.test(l));
      if (mine.length > 1 || BAD.test(mine.join("\n"))) throw new Error(`unclear failure: ${what}`);
    }
    expect(await statusOf(id)).toBe("running");
    expect(ok(await rt(["exec", id, "echo", "still-alive"])).stdout.trim()).toBe("still-alive");
  } finally {
    await destroy(id);
  }
});
