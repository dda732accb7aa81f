// Taking a recorded cgroup apart: thaw it, list what is left in it, remove its
// directories. delete needs nothing else of the cgroup code, and the drivers (limits,
// stats, devices, mount parsing) cost it ~0.5 ms to load, so this lives apart; the
// drivers' thaw, pids and destroy are these same functions.
import { CgroupError } from "./errors";
import { hasFile, readFile, readOptional, readProcsRecursive, removeCgroupDir, removeCgroupDirs, sleep, writeFile } from "./files";
import type { Remover } from "../native/nodefs";

/** The key of the unified (cgroup2) directory among a container's recorded paths. */
export const HYBRID_KEY = "";

/**
 * v1 hierarchies joined for consistency only (hybrid cgroup2, name=systemd): nothing
 * there limits the container, so their failures never stop it (runc ignores them too).
 */
export function isOptionalV1(key: string): boolean {
  return key === HYBRID_KEY || key.startsWith("name=");
}

export function pidsV1(paths: Record<string, string>): number[] {
  const dir = paths.devices ?? paths.freezer ?? Object.values(paths)[0];
  return dir ? readProcsRecursive(dir) : [];
}

export async function thawV1(dir: string): Promise<void> {
  // Read first: delete thaws every container it removes, and most were never frozen.
  for (let i = 0; i < 1000; i++) {
    if (readFile(dir, "freezer.state").trim() === "THAWED") return;
    writeFile(dir, "freezer.state", "THAWED");
    if (readFile(dir, "freezer.state").trim() === "THAWED") return;
    await sleep(1);
  }
  throw new CgroupError("cgroup freezer.state: unable to thaw");
}

export async function destroyV1(paths: Record<string, string>, rm?: Remover): Promise<void> {
  const optional: string[] = [];
  const limiting: string[] = [];
  for (const k in paths) (isOptionalV1(k) ? optional : limiting).push(paths[k]!);
  try {
    await removeCgroupDirs(optional, rm);
  } catch {
    // Joined for consistency only; a leftover there holds no limits.
  }
  await removeCgroupDirs(limiting, rm);
}

/** The container's cgroup2 directory among its recorded paths. */
export function v2DirOf(paths: Record<string, string>): string {
  const dir = paths[HYBRID_KEY] ?? (Object.keys(paths).length === 1 ? Object.values(paths)[0] : undefined);
  if (!dir) throw new CgroupError("cgroup: no cgroup v2 directory recorded for this container");
  return dir;
}

/** cgroup.events reports "frozen 1" only once every task has stopped. */
export async function waitFrozenV2(dir: string, want: "0" | "1"): Promise<boolean> {
  for (let i = 0; i < 1000; i++) {
    const events = readOptional(dir, "cgroup.events") ?? "";
    const m = /^frozen (\d)$/m.exec(events);
    if (!m || m[1] === want) return true;
    await sleep(i < 10 ? 1 : 10);
  }
  return false;
}

export function writeFreezeV2(dir: string, value: "0" | "1"): void {
  if (!hasFile(dir, "cgroup.freeze")) {
    throw new CgroupError("cgroup: freezer not supported: this kernel has no cgroup.freeze (needs 5.2 or later)", "ENOENT");
  }
  writeFile(dir, "cgroup.freeze", value);
}

export async function thawV2(dir: string): Promise<void> {
  writeFreezeV2(dir, "0");
  if (!(await waitFrozenV2(dir, "0"))) throw new CgroupError("cgroup cgroup.freeze: timed out waiting for the cgroup to thaw");
}

export interface Teardown {
  thaw(): Promise<void>;
  pids(): number[];
  destroy(): Promise<void>;
}

/** The teardown of a cgroup recorded in state.json, without loading a driver. */
export function teardownOf(version: 1 | 2, paths: Record<string, string>, rm?: Remover): Teardown {
  if (version === 1) {
    return {
      thaw: async () => {
        if (!paths.freezer) throw new CgroupError("cgroup: thaw: the freezer controller is not mounted", "ENOENT");
        await thawV1(paths.freezer);
      },
      pids: () => pidsV1(paths),
      destroy: () => destroyV1(paths, rm),
    };
  }
  const dir = v2DirOf(paths);
  return { thaw: () => thawV2(dir), pids: () => readProcsRecursive(dir), destroy: () => removeCgroupDir(dir, rm) };
}
