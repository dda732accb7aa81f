// The v2 driver against a real cgroup2 filesystem: /sys/fs/cgroup on a unified host,
// the hybrid /sys/fs/cgroup/unified otherwise. Core v2 features (procs, freeze, kill,
// unified writes) run everywhere; each controller's fields run where the hierarchy
// offers that controller and are skipped, with the reason, where it does not.

import { afterAll, afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { cgroupVersion, loadCgroup, openCgroup, statsEvent } from "../../src/cgroups";
import { applyDevicesV2, deviceRules } from "../../src/cgroups/devices";
import { removeCgroupDir, writeFile } from "../../src/cgroups/files";
import type { CgroupManager } from "../../src/cgroups/manager";
import { cgroupMounts, hugePageSizes } from "../../src/cgroups/mounts";
import { setV2Resources } from "../../src/cgroups/v2/limits";
import type { LinuxResources } from "../../src/spec/types";
import { Cleanup, expectCgroupError, expectCgroupErrorAsync, procCgroup, procState, read, sizeOf, someBlockDevice, tickerCommand, uniqueName, waitFor } from "./helpers";
import { useHarness } from "../lib/harness";


function findV2Root(): string | undefined {
  if (cgroupVersion() === 2) return "/sys/fs/cgroup";
  return cgroupMounts().find((m) => m.fstype === "cgroup2" && m.mountpoint.startsWith("/sys/fs/cgroup"))?.mountpoint;
}

const ROOT = findV2Root();
const available = new Set(ROOT ? read(ROOT, "cgroup.controllers").split(/\s+/).filter(Boolean) : []);
const subtreeBefore = ROOT ? read(ROOT, "cgroup.subtree_control").split(/\s+/).filter(Boolean) : [];
const lacks = (c: string) => !available.has(c);

// Creating cgroups enables the root's controllers in its subtree_control, as a
// runtime does; put the host back as it was.
afterAll(() => {
  if (!ROOT) return;
  const now = read(ROOT, "cgroup.subtree_control").split(/\s+/).filter(Boolean);
  for (const ctl of now.filter((x) => !subtreeBefore.includes(x))) {
    try {
      writeFile(ROOT, "cgroup.subtree_control", `-${ctl}`);
    } catch {}
  }
});

let c: Cleanup;
beforeEach(() => {
  c = new Cleanup();
});
afterEach(async () => {
  await c.run();
});

function fresh(tag: string, cgroupsPath?: string): CgroupManager {
  const m = c.manager(openCgroup({ id: uniqueName(tag), systemd: false, cgroupsPath: cgroupsPath ?? `/${uniqueName(tag)}`, mountRoot: ROOT }));
  m.create();
  return m;
}

const dirOf = (m: CgroupManager) => m.paths[""]!;

function set(m: CgroupManager, r: LinuxResources): string[] {
  const warns: string[] = [];
  setV2Resources(dirOf(m), r, (w) => warns.push(w));
  return warns;
}

describe.skipIf(!ROOT)("cgroup v2 driver", () => {
  describe("create and processes", () => {
    test("openCgroup picks v2 for a cgroup2 root; create enables the root's controllers down the path", () => {
      const top = uniqueName("nest");
      const m = fresh("nest", `/${top}/leaf`);
      c.defer(() => removeCgroupDir(join(ROOT!, top)));
      expect(m.version).toBe(2);
      expect(Object.keys(m.paths)).toEqual([""]);
      expect(dirOf(m)).toBe(join(ROOT!, top, "leaf"));
      expect(existsSync(dirOf(m))).toBe(true);
      const leafControllers = read(dirOf(m), "cgroup.controllers").split(/\s+/).filter(Boolean);
      expect(leafControllers.sort()).toEqual([...available].sort());
      m.create();
    });

    test("addProcess, pids() of the cgroup and below", async () => {
      const m = fresh("procs");
      const p1 = c.spawn(["sleep", "30"]);
      await m.addProcess(p1.pid);
      expect(procCgroup(p1.pid, "")).toBe(dirOf(m).slice(ROOT!.length));
      // No internal processes: a child cgroup with processes needs its own leaf.
      mkdirSync(join(dirOf(m), "sub"));
      const p2 = c.spawn(["sleep", "30"]);
      writeFile(join(dirOf(m), "sub"), "cgroup.procs", String(p2.pid));
      expect(m.pids().sort()).toEqual([p1.pid, p2.pid].sort());
    });

    test("freeze through cgroup.freeze stops the processes until thaw", async () => {
      const m = fresh("freeze");
      const file = `/tmp/${uniqueName("tick")}`;
      c.defer(() => rmSync(file, { force: true }));
      const p = c.spawn(tickerCommand(file));
      await m.addProcess(p.pid);
      expect(await waitFor(() => sizeOf(file) > 0)).toBe(true);
      expect(await m.frozen()).toBe(false);
      await m.freeze();
      expect(read(dirOf(m), "cgroup.events")).toContain("frozen 1");
      expect(await m.frozen()).toBe(true);
      // The task may still be on its way into the freezer's sleep for a moment.
      expect(await waitFor(() => ["D", "T", "S"].includes(procState(p.pid)), 1000)).toBe(true);
      const size = sizeOf(file);
      await Bun.sleep(300);
      expect(sizeOf(file)).toBe(size);
      await m.thaw();
      expect(read(dirOf(m), "cgroup.events")).toContain("frozen 0");
      expect(await m.frozen()).toBe(false);
      expect(await waitFor(() => sizeOf(file) > size)).toBe(true);
    });

    test("killAll(SIGKILL) uses cgroup.kill and reaches sub-cgroups; other signals are swept", async () => {
      const m = fresh("kill");
      const a = c.spawn(["sleep", "30"]);
      await m.addProcess(a.pid);
      mkdirSync(join(dirOf(m), "sub"));
      const b = c.spawn(["sleep", "30"]);
      writeFile(join(dirOf(m), "sub"), "cgroup.procs", String(b.pid));
      await m.killAll(9);
      expect(await a.exited).toBe(137);
      expect(await b.exited).toBe(137);
      const d = c.spawn(["sleep", "30"]);
      await m.addProcess(d.pid);
      await m.killAll(15);
      expect(await d.exited).toBe(143);
      expect(await m.frozen()).toBe(false);
    });

    test("stats: runc's shape; pids counted from cgroup.procs without the pids controller", async () => {
      const m = fresh("stats");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      const s = m.stats();
      expect(s.pids.current).toBe(1n);
      if (!lacks("hugetlb")) for (const size of hugePageSizes()) expect(s.hugetlb[size]).toBeDefined();
      if (!lacks("memory")) expect(s.memory.usage.usage).toBeGreaterThan(0n);
      if (!lacks("cpu")) expect(s.cpu.usage.total).toBeGreaterThanOrEqual(0n);
      const data = JSON.parse(statsEvent("x", s)).data;
      expect(Object.keys(data)).toEqual(["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"]);
      expect(data.pids.current).toBe(1);
    });

    test("loadCgroup finds the mount from the recorded path", async () => {
      const m = fresh("load");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      const again = loadCgroup(2, JSON.parse(JSON.stringify(m.paths)));
      expect(again.paths).toEqual(m.paths);
      expect(again.pids()).toEqual([p.pid]);
      await again.freeze();
      expect(await m.frozen()).toBe(true);
      await again.thaw();
    });

    test("destroy removes the cgroup and its children, and tolerates repeats", async () => {
      const m = fresh("destroy");
      mkdirSync(join(dirOf(m), "a"));
      mkdirSync(join(dirOf(m), "a", "b"));
      await m.destroy();
      expect(existsSync(dirOf(m))).toBe(false);
      await m.destroy();
    });

    test("destroy of a cgroup with a live process is a one-line EBUSY error", async () => {
      const m = fresh("busy");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      await expectCgroupErrorAsync(() => m.destroy(), /: rmdir: device or resource busy$/);
    });

    test("a cgroup2 mounted elsewhere (private mount namespace) works as mountRoot", async () => {
      const mnt = mkdtempSync("/tmp/dxrt-cg2-");
      c.defer(() => rmSync(mnt, { recursive: true, force: true }));
      const name = uniqueName("mntns");
      const probe = join(import.meta.dir, "fixtures", "mountns-probe.ts");
      const p = Bun.spawn(
        ["unshare", "-m", "--propagation", "private", "sh", "-c", `mount -t cgroup2 none "$1" && exec "$2" "$3" "$1" "$4"`, "sh", mnt, process.execPath, probe, name],
        { stdout: "pipe", stderr: "pipe" },
      );
      const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
      expect(err).toBe("");
      expect(code).toBe(0);
      const r = JSON.parse(out);
      expect(r.version).toBe(2);
      expect(r.paths).toEqual({ "": `${mnt}/${name}` });
      expect(r.existed).toBe(true);
      expect(r.procCgroup).toBe(`0::/${name}`);
      expect(r.pids).toEqual([r.child]);
      expect(r.removed).toBe(true);
      expect(existsSync(join(ROOT!, name))).toBe(false);
    });
  });

  describe("resources", () => {
    test("apply attaches the eBPF device filter even without a devices section", () => {
      const m = fresh("devices");
      m.apply({}, () => {});
      // bpftool is not at hand: the filter's effect is checked in devicefilter.test.ts;
      // here, that applying twice (an update) swaps programs without error.
      m.apply({ devices: [{ allow: false, access: "rwm" }] }, () => {});
      expect(() => applyDevicesV2(dirOf(m), deviceRules(undefined))).not.toThrow();
    });

    test("unified: raw key/values are written; bad keys are refused", () => {
      const m = fresh("unified");
      set(m, { unified: { "cgroup.max.descendants": "5", "cgroup.max.depth": "2" } });
      expect(read(dirOf(m), "cgroup.max.descendants")).toBe("5");
      expect(read(dirOf(m), "cgroup.max.depth")).toBe("2");
      expectCgroupError(() => set(m, { unified: { "../cgroup.procs": "1" } }), /must be a file name \(no slashes\)/);
      expectCgroupError(() => set(m, { unified: { "cgroup.nonexistent": "1" } }), /^cgroup cgroup\.nonexistent: write 1: no such file or directory$/);
      const absent = ["memory", "pids", "io", "cpu"].find(lacks);
      if (absent) {
        expectCgroupError(() => set(m, { unified: { [`${absent}.max`]: "1" } }), new RegExp(`controller "${absent}" not available`));
      } else {
        set(m, { unified: { "memory.high": "104857600" } });
        expect(read(dirOf(m), "memory.high")).toBe("104857600");
      }
    });

    test("fields v2 has no file for are warnings, not failures", () => {
      const m = fresh("warn");
      const warns = set(m, {
        memory: { kernel: 1 << 20, kernelTCP: 1 << 20, swappiness: 10, disableOOMKiller: true, useHierarchy: false },
        cpu: { realtimePeriod: 1000000, realtimeRuntime: 1000 },
        blockIO: { leafWeight: 100 },
        network: { classID: 1, priorities: [{ name: "lo", priority: 1 }] },
      });
      for (const field of ["memory.kernel ", "memory.kernelTCP ", "memory.swappiness ", "disableOOMKiller", "useHierarchy", "realtime", "leafWeight", "network"]) {
        expect(warns.some((w) => w.includes(field))).toBe(true);
      }
    });

    test.skipIf(lacks("hugetlb"))("hugetlb: .max per page size; unknown sizes refused [needs hugetlb on v2]", () => {
      const m = fresh("huge");
      const sizes = hugePageSizes();
      expect(sizes.length).toBeGreaterThan(0);
      for (const size of sizes) {
        set(m, { hugepageLimits: [{ pageSize: size, limit: 0 }] });
        expect(read(dirOf(m), `hugetlb.${size}.max`)).toBe("0");
        if (existsSync(join(dirOf(m), `hugetlb.${size}.rsvd.max`))) expect(read(dirOf(m), `hugetlb.${size}.rsvd.max`)).toBe("0");
      }
      const big = sizes.includes("2MB") ? "2MB" : sizes[0]!;
      set(m, { hugepageLimits: [{ pageSize: big, limit: 8388608 }] });
      expect(read(dirOf(m), `hugetlb.${big}.max`)).toBe("8388608");
      expectCgroupError(() => set(m, { hugepageLimits: [{ pageSize: "3MB", limit: 1 }] }), /page size 3MB is not supported/);
      expect(Object.keys(m.stats().hugetlb).sort()).toEqual([...sizes].sort());
    });

    test.skipIf(lacks("pids"))("pids: pids.max [needs the pids controller on v2]", () => {
      const m = fresh("pids");
      set(m, { pids: { limit: 10 } });
      expect(read(dirOf(m), "pids.max")).toBe("10");
      set(m, { pids: { limit: -1 } });
      expect(read(dirOf(m), "pids.max")).toBe("max");
      expect(m.stats().pids.limit).toBe(0n);
    });

    test.skipIf(!lacks("pids"))("pids: a limit without the pids controller names it [runs where pids is absent]", () => {
      const m = fresh("nopids");
      expectCgroupError(() => set(m, { pids: { limit: 10 } }), /^cgroup: pids\.limit: the pids controller is not available in /);
    });

    test.skipIf(lacks("memory"))("memory: max, low, swap.max [needs the memory controller on v2]", () => {
      const m = fresh("mem");
      const d = dirOf(m);
      const swap = existsSync(join(d, "memory.swap.max"));
      set(m, { memory: { limit: 104857600, reservation: 52428800, ...(swap ? { swap: 209715200 } : {}) } });
      expect(read(d, "memory.max")).toBe("104857600");
      expect(read(d, "memory.low")).toBe("52428800");
      if (swap) expect(read(d, "memory.swap.max")).toBe("104857600");
      set(m, { memory: { limit: -1 } });
      expect(read(d, "memory.max")).toBe("max");
      if (swap) expect(read(d, "memory.swap.max")).toBe("max");
      expectCgroupError(() => set(m, { memory: { limit: 100, swap: 50 } }), /should be >= memory limit/);
    });

    test.skipIf(!lacks("memory"))("memory: a limit without the memory controller names it [runs where memory is absent]", () => {
      const m = fresh("nomem");
      expectCgroupError(() => set(m, { memory: { limit: 104857600 } }), /^cgroup: memory: the memory controller is not available in /);
    });

    test.skipIf(lacks("cpu"))("cpu: weight from shares, max, burst, idle [needs the cpu controller on v2]", () => {
      const m = fresh("cpu");
      const d = dirOf(m);
      set(m, { cpu: { shares: 1024, quota: 50000, period: 100000 } });
      expect(read(d, "cpu.weight")).toBe("100");
      expect(read(d, "cpu.max")).toBe("50000 100000");
      set(m, { cpu: { quota: -1 } });
      expect(read(d, "cpu.max")).toBe("max 100000");
      if (existsSync(join(d, "cpu.max.burst"))) {
        set(m, { cpu: { quota: 50000, period: 100000, burst: 10000 } });
        expect(read(d, "cpu.max.burst")).toMatch(/^(10000|10)$/);
      }
      if (existsSync(join(d, "cpu.idle"))) {
        set(m, { cpu: { idle: 1 } });
        expect(read(d, "cpu.idle")).toBe("1");
      }
    });

    test.skipIf(lacks("cpuset"))("cpuset: cpus and mems [needs the cpuset controller on v2]", () => {
      const m = fresh("cpuset");
      set(m, { cpu: { cpus: "0", mems: "0" } });
      expect(read(dirOf(m), "cpuset.cpus")).toBe("0");
      expect(read(dirOf(m), "cpuset.mems")).toBe("0");
    });

    test.skipIf(lacks("io"))("io: io.max throttles and a weight [needs the io controller on v2]", () => {
      const m = fresh("io");
      const d = dirOf(m);
      const dev = someBlockDevice()!;
      set(m, {
        blockIO: {
          throttleReadBpsDevice: [{ ...dev, rate: 1048576 }],
          throttleWriteIOPSDevice: [{ ...dev, rate: 100 }],
        },
      });
      expect(read(d, "io.max")).toContain(`${dev.major}:${dev.minor} rbps=1048576 wbps=max riops=max wiops=100`);
      if (existsSync(join(d, "io.weight")) || existsSync(join(d, "io.bfq.weight"))) {
        set(m, { blockIO: { weight: 1000 } });
        const text = existsSync(join(d, "io.bfq.weight")) ? read(d, "io.bfq.weight") : read(d, "io.weight");
        expect(text).toMatch(/(^|default )(1000|10000)$/m);
      }
    });
  });
});

// The suite-wide leak check after every test, as for every other test file. Registered
// last, so that it runs after this file's own cleanup hooks.
useHarness("cgroups-v2");
