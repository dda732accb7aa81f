// Boots the systemd guest built by build-image.sh and collects the VMTEST lines its
// guest-tests.sh prints on the serial console.
//
//   bun test/vm/systemd/run.ts [--only GROUP] [--timeout SEC] [--legacy]
//
// --legacy boots systemd on cgroup v1 (systemd.unified_cgroup_hierarchy=0) and runs
// only the "legacy" group.
//
// The root disk is the cached image, opened with snapshot=on: the guest's writes go to a
// temporary overlay and the image stays as built. The repository is shared read-only
// over 9p (and bun's directory beside it): the guest copies dist/dx-runtime and bun from
// them at the start of its run.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { directBootArgs, pickAccel, REPO, runQemu, type Accel, type VmRun } from "../run";

export const SYSTEMD_DIR = import.meta.dir;

export interface SystemdImage {
  kernel: string;
  initrd: string;
  rootfs: string;
  buildMs: number;
}

/** build-image.sh: a no-op when the cached image for its inputs exists. */
export function buildSystemdImage(): SystemdImage {
  const t0 = performance.now();
  const r = spawnSync("bash", [path.join(SYSTEMD_DIR, "build-image.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (r.status !== 0) throw new Error(`test/vm/systemd/build-image.sh failed with status ${r.status}`);
  const get = (k: string) => {
    const v = r.stdout.match(new RegExp(`^${k}=(.*)$`, "m"))?.[1];
    if (!v) throw new Error(`build-image.sh printed no ${k}= line:\n${r.stdout}`);
    return v;
  };
  const img = { kernel: get("KERNEL"), initrd: get("INITRD"), rootfs: get("ROOTFS"), buildMs: performance.now() - t0 };
  pruneImages(path.dirname(img.rootfs));
  return img;
}

/** Images built from older inputs (a GB each) go once a newer one exists; the debs stay. */
function pruneImages(current: string): void {
  const cache = path.dirname(current);
  for (const e of fs.readdirSync(cache)) {
    const p = path.join(cache, e);
    if (p === current || !/^[0-9a-f]{16}$/.test(e)) continue;
    fs.rmSync(p, { recursive: true, force: true });
  }
}

export interface SystemdRunOptions {
  only?: string;
  /** cgroup v1 under systemd, with the "legacy" group only */
  legacy?: boolean;
  timeoutMs?: number;
  accel?: Accel;
  onLine?: (line: string) => void;
}

export async function bootSystemdVm(img: SystemdImage, opts: SystemdRunOptions = {}): Promise<VmRun> {
  const accel = opts.accel ?? (await pickAccel(img.kernel));
  const append = [
    "console=ttyS0",
    "root=/dev/vda",
    "rw",
    ...(opts.legacy ? ["systemd.unified_cgroup_hierarchy=0", "vmtest_only=legacy"] : ["systemd.unified_cgroup_hierarchy=1", "cgroup_no_v1=all"]),
    "quiet",
    "loglevel=1",
    "systemd.show_status=false",
    "panic=-1",
    "random.trust_cpu=on",
    "net.ifnames=0",
  ];
  if (opts.only) append.push(`vmtest_only=${opts.only}`);
  const args = [
    ...directBootArgs(accel, 2048, img.kernel, img.initrd, append),
    "-drive",
    `file=${img.rootfs},format=raw,if=virtio,snapshot=on,cache=unsafe`,
    "-virtfs",
    `local,path=${REPO},mount_tag=vmtest,security_model=none,readonly=on`,
    // node_modules may be a symlink out of the repository: bun comes on a share of its own.
    "-virtfs",
    `local,path=${path.dirname(fs.realpathSync(path.join(REPO, "node_modules/@oven/bun-linux-x64/bin/bun")))},mount_tag=vmtools,security_model=none,readonly=on`,
  ];
  return runQemu(args, opts.onLine, opts.timeoutMs ?? 900_000);
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const opt = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const img = buildSystemdImage();
  const run = await bootSystemdVm(img, {
    only: opt("--only"),
    legacy: argv.includes("--legacy"),
    timeoutMs: opt("--timeout") ? Number(opt("--timeout")) * 1000 : undefined,
    onLine: (l) => process.stdout.write(l + "\n"),
  });
  const s = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
  process.stdout.write(`\nimage ${s(img.buildMs)}, boot to the suite ${s(run.bootMs)}, VM total ${s(run.totalMs)}\n`);
  const bad = [
    ...(run.timedOut ? ["the VM was killed at the timeout"] : []),
    ...(run.done ? [] : ["the guest printed no `VMTEST done` line"]),
    ...run.results.filter((r) => r.status === "fail").map((r) => `${r.name}: ${r.reason ?? ""}`),
  ];
  if (bad.length) process.stdout.write(`FAILED:\n  ${bad.join("\n  ")}\n`);
  process.exit(bad.length ? 1 : 0);
}
