// The cgroup v2 suite: boots a VM whose kernel has cgroup v1 disabled
// (cgroup_no_v1=all) and runs test/vm/guest-tests.sh there against dist/dx-runtime.
// Each VMTEST line of the guest becomes one test here.
import { describe, expect, test } from "bun:test";
import { bootVm, buildVm, type VmRun } from "./run";

const VM_TIMEOUT_MS = Number(process.env.VM_TIMEOUT_MS ?? 660_000);

let run: VmRun | undefined;
let setupError: Error | undefined;
try {
  const { kernel, initrd } = buildVm();
  run = await bootVm(kernel, initrd, { timeoutMs: VM_TIMEOUT_MS });
} catch (e) {
  setupError = e as Error;
}

function tail(text: string, lines = 40): string {
  return text.split("\n").slice(-lines).join("\n");
}

describe("cgroup v2 VM", () => {
  test("builds, boots and runs the guest suite to its end", () => {
    if (setupError) throw setupError;
    const r = run!;
    if (r.timedOut || !r.done) {
      throw new Error(
        `${r.timedOut ? `killed after ${VM_TIMEOUT_MS} ms` : `qemu exited with ${r.exitCode}`} before \`VMTEST done\`; console tail:\n${tail(r.console)}`,
      );
    }
    expect(r.summary!.passed + r.summary!.failed + r.summary!.skipped).toBe(r.results.length);
    // Guards against a guest that stops early yet still prints a summary.
    expect(r.results.length).toBeGreaterThan(40);
  });

  for (const r of run?.results ?? []) {
    const name = `guest: ${r.name}`;
    if (r.status === "skip") {
      test.skip(`${name} (${r.reason})`, () => {});
      continue;
    }
    test(name, () => {
      if (r.status === "fail") throw new Error(r.reason ?? "failed");
      expect(r.status).toBe("ok");
    });
  }
});
