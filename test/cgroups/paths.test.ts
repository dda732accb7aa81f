// Path resolution, systemd names, value conversions, device rules and the stats JSON:
// the parts whose answers follow from rules rather than from the kernel's state.

import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { blkioWeightToIOWeight, i64, sharesToWeight, swapToV2, u64 } from "../../src/cgroups/convert";
import { DEFAULT_ALLOWED_DEVICES, deviceRules, ruleString } from "../../src/cgroups/devices";
import { CgroupError } from "../../src/cgroups/errors";
import { cgroupVersion, openCgroup } from "../../src/cgroups";
import { cgroupMounts, parseMountinfo, procCgroups, v1HierarchyViews, v1Hierarchies } from "../../src/cgroups/mounts";
import { cleanPath, innerPath, resolveV2Path } from "../../src/cgroups/paths";
import { emptyStats, parseCpuList, statsEvent } from "../../src/cgroups/stats";
import { expandSlice, systemdCgroupPath } from "../../src/cgroups/systemd";

const hasV1 = cgroupVersion() === 1 && v1Hierarchies("/sys/fs/cgroup").has("devices");

describe("cleanPath", () => {
  test("keeps absolute paths absolute and normalized", () => {
    expect(cleanPath("/a/b/../c//")).toBe("/a/c");
    expect(cleanPath("/../../x")).toBe("/x");
    expect(cleanPath("/")).toBe("/");
  });
  test("relative paths cannot climb out", () => {
    expect(cleanPath("../../x")).toBe("x");
    expect(cleanPath("a/../../b/c")).toBe("b/c");
    expect(cleanPath("")).toBe("");
  });
});

describe("innerPath", () => {
  test("empty cgroupsPath is the id, relative (runc 1.1)", () => {
    expect(innerPath({ id: "c1", systemd: false })).toBe("c1");
    expect(innerPath({ id: "c1", systemd: false, cgroupsPath: "" })).toBe("c1");
  });
  test("absolute and relative paths are cleaned", () => {
    expect(innerPath({ id: "c1", systemd: false, cgroupsPath: "/x/../y" })).toBe("/y");
    expect(innerPath({ id: "c1", systemd: false, cgroupsPath: "../z" })).toBe("z");
  });
});

describe("systemd paths", () => {
  test("expandSlice nests every dash prefix", () => {
    expect(expandSlice("system.slice")).toBe("/system.slice");
    expect(expandSlice("a-b.slice")).toBe("/a.slice/a-b.slice");
    expect(expandSlice("a-b-c.slice")).toBe("/a.slice/a-b.slice/a-b-c.slice");
    expect(expandSlice("-.slice")).toBe("/");
  });
  test("expandSlice rejects malformed names", () => {
    for (const bad of ["a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "foo", ".slice", "a.scope"]) {
      expect(() => expandSlice(bad)).toThrow(CgroupError);
    }
  });
  test("slice:prefix:name maps to the scope systemd would create", () => {
    expect(systemdCgroupPath("system.slice:docker:abc", "id")).toBe("/system.slice/docker-abc.scope");
    expect(systemdCgroupPath("machine-libpod.slice:libpod:abc", "id")).toBe("/machine.slice/machine-libpod.slice/libpod-abc.scope");
    expect(systemdCgroupPath(":crio:abc", "id")).toBe("/system.slice/crio-abc.scope");
    expect(systemdCgroupPath("-.slice:p:n", "id")).toBe("/p-n.scope");
    expect(systemdCgroupPath("user.slice::n", "id")).toBe("/user.slice/n.scope");
    expect(systemdCgroupPath("system.slice:x:my.slice", "id")).toBe("/system.slice/my.slice");
    expect(systemdCgroupPath(undefined, "abc")).toBe("/system.slice/dx-runtime-abc.scope");
  });
  test("malformed systemd paths are one-line errors", () => {
    expect(() => systemdCgroupPath("/foo/bar", "id")).toThrow(
      'cgroup: expected cgroupsPath to be of format "slice:prefix:name" for systemd cgroups, got "/foo/bar" instead',
    );
    expect(() => systemdCgroupPath("a:b", "id")).toThrow(/slice:prefix:name/);
    expect(() => systemdCgroupPath("a:b:c:d", "id")).toThrow(/slice:prefix:name/);
    expect(() => systemdCgroupPath("bad:p:n", "id")).toThrow(/invalid systemd slice name "bad"/);
    expect(() => systemdCgroupPath("system.slice:p:../x", "id")).toThrow(/invalid systemd name/);
    expect(() => systemdCgroupPath("system.slice:p:", "id")).toThrow(/empty unit name/);
  });
});

describe("mounts", () => {
  test("parseMountinfo reads fields and unescapes", () => {
    const text =
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
      "36 31 0:33 /sub /mnt/with\\040space rw - cgroup2 cgroup2 rw,nsdelegate\n";
    const m = parseMountinfo(text);
    expect(m).toEqual([
      { root: "/", mountpoint: "/sys/fs/cgroup/memory", fstype: "cgroup", superOptions: ["rw", "memory"] },
      { root: "/sub", mountpoint: "/mnt/with space", fstype: "cgroup2", superOptions: ["rw", "nsdelegate"] },
    ]);
  });
  test("v1 hierarchies as a container mounts them: co-mounted ones whole, with links", () => {
    const mounts = parseMountinfo(
      "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n" +
        "32 30 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n" +
        "33 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd\n" +
        "34 30 0:31 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw,nsdelegate\n",
    );
    const d = "/a.slice/b.scope";
    const views = v1HierarchyViews(
      {
        cpuacct: `/sys/fs/cgroup/cpu,cpuacct${d}`,
        cpu: `/sys/fs/cgroup/cpu,cpuacct${d}`,
        memory: `/sys/fs/cgroup/memory${d}`,
        "name=systemd": `/sys/fs/cgroup/systemd${d}`,
        "": `/sys/fs/cgroup/unified${d}`,
      },
      mounts,
    );
    expect(Object.fromEntries(views)).toEqual({
      "cpu,cpuacct": { dir: `/sys/fs/cgroup/cpu,cpuacct${d}`, options: "cpu,cpuacct", links: ["cpu", "cpuacct"] },
      memory: { dir: `/sys/fs/cgroup/memory${d}`, options: "memory", links: [] },
      systemd: { dir: `/sys/fs/cgroup/systemd${d}`, options: "none,name=systemd", links: [] },
    });
  });
  test("this process's cgroups come from /proc/self/cgroup", () => {
    const own = procCgroups();
    const text = readFileSync("/proc/self/cgroup", "utf8");
    for (const line of text.trim().split("\n")) {
      const [, names, path] = line.split(/:(.*?):/);
      for (const n of names === "" ? [""] : names!.split(",")) expect(own.get(n)).toBe(path);
    }
  });
});

describe.skipIf(!hasV1)("v1 path resolution on this host", () => {
  const hier = v1Hierarchies("/sys/fs/cgroup");
  const own = procCgroups();

  test("relative paths sit below the runtime's own cgroup in each hierarchy", () => {
    const m = openCgroup({ id: "c1", systemd: false, cgroupsPath: "rel/c1" });
    for (const [key, mount] of hier) {
      const mine = own.get(key)!;
      const expected = `${mount.mountpoint}${mine === "/" ? "" : mine}/rel/c1`;
      expect(m.paths[key]).toBe(expected);
    }
    expect(m.paths.devices).toBeDefined();
  });

  test("absolute paths sit below each mount point", () => {
    const m = openCgroup({ id: "c1", systemd: false, cgroupsPath: "/abs/c1" });
    for (const [key, mount] of hier) expect(m.paths[key]).toBe(`${mount.mountpoint}/abs/c1`);
  });

  test("no cgroupsPath: the id below the own cgroup", () => {
    const m = openCgroup({ id: "the-id", systemd: false });
    const mount = hier.get("memory")!;
    const mine = own.get("memory")!;
    expect(m.paths.memory).toBe(`${mount.mountpoint}${mine === "/" ? "" : mine}/the-id`);
  });

  test("systemd mode maps to the unit directory in every hierarchy", () => {
    const m = openCgroup({ id: "x", systemd: true, cgroupsPath: "system.slice:dx:abc" });
    for (const [key, mount] of hier) expect(m.paths[key]!.startsWith(mount.mountpoint)).toBe(true);
    expect(m.paths.memory).toEndWith("/system.slice/dx-abc.scope");
    expect(() => openCgroup({ id: "x", systemd: true, cgroupsPath: "nocolons" })).toThrow(CgroupError);
  });

  test("the hybrid unified hierarchy is recorded under the empty key", () => {
    const hybrid = cgroupMounts().find((m) => m.fstype === "cgroup2" && m.mountpoint.startsWith("/sys/fs/cgroup/"));
    const m = openCgroup({ id: "c1", systemd: false, cgroupsPath: "/abs/c1" });
    if (hybrid) expect(m.paths[""]).toBe(`${hybrid.mountpoint}/abs/c1`);
    else expect(m.paths[""]).toBeUndefined();
  });
});

describe("v2 path resolution", () => {
  const unified = cgroupMounts().find((m) => m.fstype === "cgroup2");
  test.skipIf(!unified)("absolute below the mount; relative below the parent of the own cgroup", () => {
    const root = unified!.mountpoint;
    expect(resolveV2Path({ id: "c", systemd: false, cgroupsPath: "/a/b" }, root)).toBe(`${root}/a/b`);
    const mine = procCgroups().get("")!;
    const parent = mine === "/" ? "" : mine.slice(0, mine.lastIndexOf("/"));
    expect(resolveV2Path({ id: "c", systemd: false, cgroupsPath: "x/y" }, root)).toBe(`${root}${parent}/x/y`);
    expect(resolveV2Path({ id: "c", systemd: true, cgroupsPath: "a-b.slice:p:n" }, root)).toBe(`${root}/a.slice/a-b.slice/p-n.scope`);
  });
});

describe("conversions", () => {
  test("cpu shares to weight follows runc/crun's curve", () => {
    expect(sharesToWeight(0)).toBe(0);
    expect(sharesToWeight(2)).toBe(1);
    expect(sharesToWeight(1024)).toBe(100);
    expect(sharesToWeight(262144)).toBe(10000);
    expect(sharesToWeight(512)).toBe(59);
    expect(sharesToWeight(2048)).toBe(174);
    expect(sharesToWeight(100000)).toBe(4340);
  });
  test("blkio weight to io.weight", () => {
    expect(blkioWeightToIOWeight(10)).toBe(1);
    expect(blkioWeightToIOWeight(1000)).toBe(10000);
    expect(blkioWeightToIOWeight(500)).toBe(4950);
  });
  test("memory+swap to v2 swap", () => {
    expect(swapToV2(undefined, undefined)).toBeUndefined();
    expect(swapToV2(undefined, -1)).toBe("max");
    expect(swapToV2(-1, 100)).toBe("max");
    expect(swapToV2(300, 100)).toBe("200");
    expect(swapToV2(100, 100)).toBe("0");
    expect(() => swapToV2(50, 100)).toThrow(/should be >= memory limit/);
    expect(() => swapToV2(100, undefined)).toThrow(/without memory limit/);
  });
  test("64-bit values rounded by JSON.parse are clamped, not rejected", () => {
    expect(i64(9223372036854775807)).toBe("9223372036854775807");
    expect(u64(18446744073709551615)).toBe("18446744073709551615");
    expect(i64(-1)).toBe("-1");
    expect(() => u64(-1)).toThrow(CgroupError);
    expect(() => i64(1.5)).toThrow(CgroupError);
  });
});

describe("device rules", () => {
  test("config rules come first, then the defaults", () => {
    const rules = deviceRules([
      { allow: false, access: "rwm" },
      { allow: true, type: "c", major: 10, minor: 229, access: "rw" },
    ]);
    expect(rules.map(ruleString).slice(0, 2)).toEqual(["a", "c 10:229 rw"]);
    expect(rules.slice(2)).toEqual([...DEFAULT_ALLOWED_DEVICES]);
    expect(ruleString(DEFAULT_ALLOWED_DEVICES[8]!)).toBe("c 136:* rwm");
  });
  test("a partial 'a' rule is split so the kernel does not widen it", () => {
    const rules = deviceRules([{ allow: true, type: "a", major: 1, access: "r" }]);
    expect(rules.slice(0, 2).map(ruleString)).toEqual(["c 1:* r", "b 1:* r"]);
  });
  test("bad rules are refused", () => {
    expect(() => deviceRules([{ allow: true, type: "x" }])).toThrow(/invalid type "x"/);
    expect(() => deviceRules([{ allow: true, access: "" }])).toThrow(/access cannot be empty/);
  });
  test("access is read as runc reads it: a set of r, w, m in any order, other letters ignored", () => {
    const one = (access: string) => deviceRules([{ allow: true, type: "c", major: 1, minor: 5, access }]).slice(0, 1).map(ruleString);
    expect(one("rwa")).toEqual(["c 1:5 rw"]);
    expect(one("mwr")).toEqual(["c 1:5 rwm"]);
    expect(one("wwr")).toEqual(["c 1:5 rw"]);
    expect(one("m")).toEqual(["c 1:5 m"]);
    // No kind at all: nothing to allow, and the defaults follow directly.
    expect(deviceRules([{ allow: true, type: "c", major: 1, minor: 5, access: "xyz" }])).toEqual([...DEFAULT_ALLOWED_DEVICES]);
  });
});

describe("stats JSON", () => {
  test("bigints print exactly and zero omitempty fields are dropped like runc", () => {
    const s = emptyStats();
    s.memory.usage.limit = (1n << 64n) - 1n;
    s.pids.current = 3n;
    s.hugetlb["2MB"] = { usage: 0n, max: 0n, failcnt: 0n };
    const text = statsEvent("c1", s);
    expect(text).toContain('"limit":18446744073709551615');
    const parsed = JSON.parse(text);
    expect(parsed.type).toBe("stats");
    expect(parsed.id).toBe("c1");
    expect(parsed.data.pids).toEqual({ current: 3 });
    expect(parsed.data.hugetlb).toEqual({ "2MB": { failcnt: 0 } });
    expect(parsed.data.cpu.usage).toEqual({ kernel: 0, user: 0 });
    expect(parsed.data.memory.kernel).toEqual({ limit: 0, failcnt: 0 });
    expect(parsed.data.intel_rdt).toEqual({});
    expect(parsed.data.network_interfaces).toBeNull();
    expect(Object.keys(parsed.data)).toEqual(["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"]);
  });
  test("cpu lists", () => {
    expect(parseCpuList("0-3,8,10-11\n")).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList("")).toEqual([]);
  });
});

test("cgroupVersion reads the filesystem magic", () => {
  const v = cgroupVersion();
  expect(v === 1 || v === 2).toBe(true);
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) expect(v).toBe(2);
  const unified = cgroupMounts().find((m) => m.fstype === "cgroup2");
  if (unified) expect(cgroupVersion(unified.mountpoint)).toBe(2);
});
