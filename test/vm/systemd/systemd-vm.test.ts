// The systemd guest: Debian bookworm with systemd as PID 1 on cgroup v2 (see
// build-image.sh), running test/vm/systemd/guest-tests.sh: --systemd-cgroup against a
// real systemd, podman with cgroup_manager systemd, containerd's CRI with
// SystemdCgroup = true, each beside runc. Each VMTEST line of the guest becomes one
// test here. A guest that cannot be built or booted fails the first test: it is never
// skipped.
import { describe, expect, test } from "bun:test";
import type { VmRun } from "../run";
import { bootSystemdVm, buildSystemdImage } from "./run";

// A full run takes about ten minutes under TCG on a busy host, checkpoint-engines
// three and a half of them.
const VM_TIMEOUT_MS = Number(process.env.VM_TIMEOUT_MS ?? 1_200_000);

let run: VmRun | undefined;
let setupError: Error | undefined;
try {
  run = await bootSystemdVm(buildSystemdImage(), { timeoutMs: VM_TIMEOUT_MS });
} catch (e) {
  setupError = e as Error;
}

const tail = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n");

describe("systemd VM", () => {
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
    expect(r.results.length).toBeGreaterThan(60);
  });

  for (const r of run?.results ?? []) {
    test(`guest: ${r.name}`, () => {
      if (r.status !== "ok") throw new Error(`${r.status}: ${r.reason ?? ""}`);
    });
  }
});
