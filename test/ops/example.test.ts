// The README's example: examples/make-bundle.sh makes a bundle that `run` turns into a
// container printing one line (what scripts/setup.sh shows on a fresh machine).
import { expect, test } from "bun:test";
import path from "node:path";
import { REPO, RUNTIME, rt, scratchDir, uniqueId, useHarness } from "../lib/harness";

useHarness("example");

test("the example bundle runs and prints its line", async () => {
  const dir = path.join(scratchDir("example"), "bundle");
  const mk = Bun.spawnSync(["bash", path.join(REPO, "examples/make-bundle.sh"), dir, RUNTIME], { stdout: "pipe", stderr: "pipe" });
  expect(mk.exitCode, new TextDecoder().decode(mk.stderr)).toBe(0);
  const r = await rt(["run", "--bundle", dir, uniqueId()]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stdout.trim()).toBe("hello from dx-example, pid 1, as root");
});
