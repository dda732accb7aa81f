// `--systemd-cgroup` paths. systemd is not asked for anything: the runtime computes
// the directory systemd would give the unit and manages it like any other cgroup.

import { CgroupError } from "./errors";

const SLICE = ".slice";

/**
 * "a-b-c.slice" → "/a.slice/a-b.slice/a-b-c.slice": systemd nests a slice under every
 * dash-separated prefix of its name. "-.slice" is the root slice.
 */
export function expandSlice(slice: string): string {
  const bad = () => new CgroupError(`cgroup: invalid systemd slice name ${JSON.stringify(slice)}`);
  if (slice.length <= SLICE.length || !slice.endsWith(SLICE) || slice.includes("/")) throw bad();
  const name = slice.slice(0, -SLICE.length);
  if (name === "-") return "/";
  let path = "";
  let prefix = "";
  for (const part of name.split("-")) {
    // "a--b.slice", "-a.slice" and "a-.slice" have an empty component.
    if (part === "") throw bad();
    path += `/${prefix}${part}${SLICE}`;
    prefix += `${part}-`;
  }
  return path;
}

function checkUnitPart(what: string, s: string, cgroupsPath: string): void {
  if (s.includes("/") || s === "." || s === ".." || s.includes("\0")) {
    throw new CgroupError(`cgroup: invalid systemd ${what} ${JSON.stringify(s)} in cgroupsPath ${JSON.stringify(cgroupsPath)}`);
  }
}

/** The scope prefix used when a systemd-mode container has no cgroupsPath. */
export const DEFAULT_SCOPE_PREFIX = "dx-runtime";

/**
 * "slice:prefix:name" → the unit's cgroup path relative to the hierarchy root, e.g.
 * "system.slice:docker:abc" → "/system.slice/docker-abc.scope". An empty slice means
 * system.slice; a name ending in ".slice" is used as the unit itself.
 */
export function systemdCgroupPath(cgroupsPath: string | undefined, id: string): string {
  let slice = "";
  let prefix = DEFAULT_SCOPE_PREFIX;
  let name = id;
  if (cgroupsPath) {
    const parts = cgroupsPath.split(":");
    if (parts.length !== 3) {
      throw new CgroupError(
        `cgroup: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got ${JSON.stringify(cgroupsPath)} instead`,
      );
    }
    [slice, prefix, name] = parts as [string, string, string];
    if (name === "") throw new CgroupError(`cgroup: empty unit name in systemd cgroupsPath ${JSON.stringify(cgroupsPath)}`);
  }
  checkUnitPart("prefix", prefix, cgroupsPath ?? "");
  checkUnitPart("name", name, cgroupsPath ?? "");
  const parent = expandSlice(slice === "" ? "system.slice" : slice);
  let unit: string;
  if (name.endsWith(SLICE)) {
    // A slice unit sits where its own name says, so validate it the same way.
    expandSlice(name);
    unit = name;
  } else {
    unit = prefix === "" ? `${name}.scope` : `${prefix}-${name}.scope`;
  }
  return parent === "/" ? `/${unit}` : `${parent}/${unit}`;
}
