// One task's runtime calls as containerd's runc shim (containerd-shim-runc-v2, through
// go-runc) makes them: a root per namespace, `--log FILE --log-format json` on every call,
// `create --bundle B --pid-file P ID` with a cgroupsPath in config.json and stdio on fifos
// the shim holds, then `start ID`, `state ID`, `kill ID 9` and `delete ID` once it exited.
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Runtime } from "./runtimes";
import { removeCgroupParent } from "../../test/engines/engines";
export { removeCgroupParent };

export interface ShimSetup {
  root: string;
  bundle: string;
  log: string;
  pidFile: string;
  /** a fifo opened read-write: the container's stdin, stdout and stderr */
  stdio: number;
}

/** The cgroup parent every shim-style container goes under, as containerd's `/NAMESPACE/ID`. */
export const shimCgroupParent = (pid: number) => `dxbench-${pid}`;

export function shimSetup(rt: Runtime, tmp: string, sleepBundle: string, cgroupParent: string): ShimSetup {
  const base = join(tmp, `shim-${rt.name}`);
  const root = join(base, "runc", "bench");
  const bundle = join(base, "bundle");
  mkdirSync(root, { recursive: true });
  mkdirSync(bundle, { recursive: true });
  const c = JSON.parse(readFileSync(join(sleepBundle, "config.json"), "utf8"));
  c.linux.cgroupsPath = `/${cgroupParent}/${rt.name}`;
  writeFileSync(join(bundle, "config.json"), JSON.stringify(c));
  const fifo = join(base, "stdio");
  Bun.spawnSync(["mkfifo", fifo]);
  // Read-write, so that neither side's open blocks and no write ever fails.
  const stdio = openSync(fifo, "r+");
  return { root, bundle, log: join(bundle, "log.json"), pidFile: join(bundle, "init.pid"), stdio };
}

/** The argv of one call; a cgroupsPath names one container, so one lives at a time per runtime. */
export function shimArgv(rt: Runtime, s: ShimSetup, ...args: string[]): string[] {
  return rt.raw("--root", s.root, "--log", s.log, "--log-format", "json", ...args);
}

export function shimCreate(s: ShimSetup, id: string): string[] {
  return ["create", "--bundle", s.bundle, "--pid-file", s.pidFile, id];
}

export function closeShim(s: ShimSetup): void {
  closeSync(s.stdio);
}

