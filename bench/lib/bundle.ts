// Busybox bundles from examples/make-bundle.sh, one config per process to run. Every
// runtime gets the same config.json so they all do the same work.
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface Bundles {
  /** process.args = /bin/true */
  trueBundle: string;
  /** process.args = sleep: stays up for start/kill/exec */
  sleepBundle: string;
}

export function makeBundles(repo: string, dxBin: string, tmp: string): Bundles {
  const base = join(tmp, "bundle-true");
  const r = Bun.spawnSync(["bash", join(repo, "examples/make-bundle.sh"), base, dxBin], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`make-bundle.sh failed: ${r.stderr.toString().trim()}`);
  setArgs(base, ["/bin/true"]);
  // The sleep bundle points at the same rootfs by absolute path: one busybox tree on disk.
  const sleepBundle = join(tmp, "bundle-sleep");
  rmSync(sleepBundle, { recursive: true, force: true });
  mkdirSync(sleepBundle);
  cpSync(join(base, "config.json"), join(sleepBundle, "config.json"));
  setArgs(sleepBundle, ["sleep", "100000"], join(base, "rootfs"));
  return { trueBundle: base, sleepBundle };
}

function setArgs(bundle: string, args: string[], rootfs?: string): void {
  const file = join(bundle, "config.json");
  const c = JSON.parse(readFileSync(file, "utf8"));
  c.process.args = args;
  c.process.terminal = false;
  if (rootfs) c.root.path = rootfs;
  // The cgroup is named after the container id, so each runtime's containers stay apart.
  delete c.linux?.cgroupsPath;
  writeFileSync(file, JSON.stringify(c, null, "\t") + "\n");
}
