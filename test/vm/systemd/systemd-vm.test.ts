// The systemd guest: Debian bookworm with systemd as PID 1 (see build-image.sh), running
// test/vm/systemd/guest-tests.sh: --systemd-cgroup against a real systemd, podman with
// cgroup_manager systemd, containerd's CRI with SystemdCgroup = true, each beside runc.
// It boots twice: on cgroup v2 with every group, then on cgroup v1 (the legacy
// hierarchies, systemd.unified_cgroup_hierarchy=0) with the "legacy" group alone. Each
// VMTEST line of the guest becomes one test here. A guest that cannot be built or
// booted fails the first test of its boot: it is never skipped.
import { describe, expect, test } from "bun:test";
import type { VmRun } from "../run";
import { bootSystemdVm, buildSystemdImage, type SystemdImage } from "./run";

// A full run takes about ten minutes under TCG on a busy host, checkpoint-engines
// three and a half of them.
const VM_TIMEOUT_MS = Number(process.env.VM_TIMEOUT_MS ?? 1_200_000);

interface Boot {
  run?: VmRun;
  error?: Error;
}

let image: SystemdImage | undefined;
let imageError: Error | undefined;
try {
  image = buildSystemdImage();
} catch (e) {
  imageError = e as Error;
}

async function boot(legacy: boolean): Promise<Boot> {
  if (!image) return { error: imageError };
  try {
    return { run: await bootSystemdVm(image, { legacy, timeoutMs: VM_TIMEOUT_MS }) };
  } catch (e) {
    return { error: e as Error };
  }
}

const v2 = await boot(false);
const v1 = await boot(true);

const tail = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n");

function suite(name: string, b: Boot, minResults: number): void {
  describe(name, () => {
    test("builds, boots and runs the guest suite to its end", () => {
      if (b.error) throw b.error;
      const r = b.run!;
      if (r.timedOut || !r.done) {
        throw new Error(
          `${r.timedOut ? `killed after ${VM_TIMEOUT_MS} ms` : `qemu exited with ${r.exitCode}`} before \`VMTEST done\`; console tail:\n${tail(r.console)}`,
        );
      }
      expect(r.summary!.passed + r.summary!.failed + r.summary!.skipped).toBe(r.results.length);
      // Guards against a guest that stops early yet still prints a summary.
      expect(r.results.length).toBeGreaterThan(minResults);
    });

    for (const r of b.run?.results ?? []) {
      test(`guest: ${r.name}`, () => {
        if (r.status !== "ok") throw new Error(`${r.status}: ${r.reason ?? ""}`);
      });
    }
  });
}

suite("systemd VM", v2, 60);
suite("systemd VM on cgroup v1", v1, 40);
