// cgroup v2: one directory in the unified hierarchy; `paths` is {"": dir}.

import type { LinuxResources } from "../../spec/types";
import { applyDevicesV2, deviceRules } from "../devices";
import { CgroupError } from "../errors";
import { hasFile, isDir, readOptional, readProcsRecursive, removeCgroupDir, writeFile, writeProc } from "../files";
import { type CgroupJoin, type CgroupManager, signalAll } from "../manager";
import { HYBRID_KEY } from "../mounts";
import { emptyStats, type Stats } from "../stats";
import type { Warn } from "../v1/limits";
import { createV2Path } from "./create";
import { setV2Resources } from "./limits";
import { statsV2 } from "./stats";
import { thawV2, waitFrozenV2, writeFreezeV2 } from "../teardown";

const SIGKILL = 9;

export class V2Manager implements CgroupManager {
  readonly version = 2 as const;
  readonly paths: Record<string, string>;

  /** `root` is the cgroup2 mount the directory lives in. */
  constructor(
    readonly dir: string,
    readonly root: string,
  ) {
    this.paths = { [HYBRID_KEY]: dir };
  }

  joinPlan(): CgroupJoin {
    // Only the child goes in (clone3 into the dir): nothing to leave.
    return { tasks: [], into: this.dir, leave: [] };
  }

  create(): void {
    createV2Path(this.root, this.dir);
  }

  apply(r: LinuxResources | undefined, warn: Warn, opts: { devices?: boolean } = {}): void {
    const res = r ?? {};
    setV2Resources(this.dir, res, warn);
    if (opts.devices !== false) applyDevicesV2(this.dir, deviceRules(res.devices));
  }

  addProcess(pid: number): Promise<void> {
    return writeProc(this.dir, pid);
  }

  pids(): number[] {
    return readProcsRecursive(this.dir);
  }

  async freeze(): Promise<void> {
    writeFreezeV2(this.dir, "1");
    if (!(await waitFrozenV2(this.dir, "1"))) {
      writeFile(this.dir, "cgroup.freeze", "0");
      throw new CgroupError("cgroup cgroup.freeze: timed out waiting for the cgroup to freeze");
    }
  }

  thaw(): Promise<void> {
    return thawV2(this.dir);
  }

  async frozen(): Promise<boolean> {
    if (!isDir(this.dir)) return false;
    const want = readOptional(this.dir, "cgroup.freeze")?.trim();
    // Asked to freeze but not there yet still counts once it gets there.
    return want === "1" && (await waitFrozenV2(this.dir, "1"));
  }

  stats(): Stats {
    const s = emptyStats();
    statsV2(this.dir, s);
    return s;
  }

  destroy(): Promise<void> {
    return removeCgroupDir(this.dir);
  }

  async killAll(signal: number): Promise<void> {
    // cgroup.kill (5.14+) kills the whole subtree atomically, forks included.
    if (signal === SIGKILL && hasFile(this.dir, "cgroup.kill")) {
      writeFile(this.dir, "cgroup.kill", "1");
      return;
    }
    await signalAll(this, signal);
  }
}
