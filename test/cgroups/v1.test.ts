// The v1 driver against this host's real v1 hierarchies: every resource is written
// and read back from the kernel's files, real processes are moved, frozen, counted
// and killed, and every cgroup is removed again.

import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { cgroupVersion, loadCgroup, openCgroup, statsEvent } from "../../src/cgroups";
import { removeCgroupDir, writeFile } from "../../src/cgroups/files";
import { teardownOf } from "../../src/cgroups/teardown";
import { ffiRemover } from "../../src/native/ffi";
import type { CgroupManager } from "../../src/cgroups/manager";
import { hugePageSizes, procCgroups, unifiedMountOf, v1Hierarchies } from "../../src/cgroups/mounts";
import type { LinuxResources } from "../../src/spec/types";
import { bun, Cleanup, expectCgroupError, expectCgroupErrorAsync, procCgroup, procState, read, sizeOf, someBlockDevice, tickerCommand, uniqueName, waitFor } from "./helpers";
import { useHarness } from "../lib/harness";


const ROOT = "/sys/fs/cgroup";
const hasV1 = cgroupVersion() === 1 && v1Hierarchies(ROOT).has("devices");
const hier = hasV1 ? v1Hierarchies(ROOT) : new Map();

let c: Cleanup;
beforeEach(() => {
  c = new Cleanup();
});
afterEach(async () => {
  await c.run();
});

function fresh(tag: string, cgroupsPath?: string): CgroupManager {
  const m = c.manager(openCgroup({ id: uniqueName(tag), systemd: false, cgroupsPath: cgroupsPath ?? `/${uniqueName(tag)}` }));
  m.create();
  return m;
}

function apply(m: CgroupManager, r: LinuxResources | undefined): string[] {
  const warns: string[] = [];
  m.apply(r, (w) => warns.push(w));
  return warns;
}

describe.skipIf(!hasV1)("cgroup v1 driver", () => {
  describe("create", () => {
    test("makes the directory in every hierarchy, idempotently", () => {
      const m = fresh("create");
      for (const key of hier.keys()) expect(m.paths[key]).toBeDefined();
      for (const p of Object.values(m.paths)) expect(existsSync(p)).toBe(true);
      m.create();
      for (const p of Object.values(m.paths)) expect(existsSync(p)).toBe(true);
    });

    test("copies cpuset cpus and mems down to every new level", () => {
      const top = `/${uniqueName("cpuset")}`;
      const m = fresh("cpuset", `${top}/mid/leaf`);
      c.defer(async () => {
        for (const p of Object.values(m.paths)) await removeCgroupDir(dirname(dirname(p)));
      });
      const leaf = m.paths.cpuset!;
      const rootCpus = read(hier.get("cpuset")!.mountpoint, "cpuset.cpus");
      const rootMems = read(hier.get("cpuset")!.mountpoint, "cpuset.mems");
      for (const d of [leaf, dirname(leaf), dirname(dirname(leaf))]) {
        expect(read(d, "cpuset.cpus")).toBe(rootCpus);
        expect(read(d, "cpuset.mems")).toBe(rootMems);
      }
    });

    test("a relative path lands below this process's own cgroup", async () => {
      const rel = uniqueName("rel");
      const m = fresh("rel", `${rel}/c`);
      c.defer(async () => {
        for (const p of Object.values(m.paths)) await removeCgroupDir(dirname(p));
      });
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      const own = procCgroups().get("memory")!;
      expect(procCgroup(p.pid, "memory")).toBe(`${own === "/" ? "" : own}/${rel}/c`);
    });
  });

  describe("apply", () => {
    test("memory: limit, reservation, swap, swappiness, OOM killer", () => {
      const m = fresh("mem");
      const d = m.paths.memory!;
      const memsw = existsSync(`${d}/memory.memsw.limit_in_bytes`);
      const warns = apply(m, {
        memory: {
          limit: 50593792,
          reservation: 25165824,
          ...(memsw ? { swap: 101187584 } : {}),
          swappiness: 10,
          disableOOMKiller: true,
        },
      });
      expect(warns).toEqual([]);
      expect(read(d, "memory.limit_in_bytes")).toBe("50593792");
      expect(read(d, "memory.soft_limit_in_bytes")).toBe("25165824");
      if (memsw) expect(read(d, "memory.memsw.limit_in_bytes")).toBe("101187584");
      expect(read(d, "memory.swappiness")).toBe("10");
      expect(read(d, "memory.oom_control")).toContain("oom_kill_disable 1");

      // Shrinking both needs memory first, growing needs memsw first.
      apply(m, { memory: { limit: 20971520, ...(memsw ? { swap: 20971520 } : {}), disableOOMKiller: false } });
      expect(read(d, "memory.limit_in_bytes")).toBe("20971520");
      expect(read(d, "memory.oom_control")).toContain("oom_kill_disable 0");
      if (memsw) {
        expect(read(d, "memory.memsw.limit_in_bytes")).toBe("20971520");
        apply(m, { memory: { limit: 209715200, swap: 419430400 } });
        expect(read(d, "memory.limit_in_bytes")).toBe("209715200");
        expect(read(d, "memory.memsw.limit_in_bytes")).toBe("419430400");
        apply(m, { memory: { limit: -1 } });
        expect(BigInt(read(d, "memory.memsw.limit_in_bytes"))).toBeGreaterThan(1n << 62n);
      }
    });

    test("memory: kernel limits are set where the kernel enforces them, warned about otherwise", () => {
      const m = fresh("kmem");
      const d = m.paths.memory!;
      const warns = apply(m, { memory: { kernel: 50593792, kernelTCP: 50593792 } });
      for (const [field, file] of [
        ["kernel", "memory.kmem.limit_in_bytes"],
        ["kernelTCP", "memory.kmem.tcp.limit_in_bytes"],
      ] as const) {
        const value = existsSync(`${d}/${file}`) ? read(d, file) : undefined;
        if (value === "50593792") continue;
        expect(warns.some((w) => w.includes(`memory.${field} `))).toBe(true);
      }
    });

    test("memory: useHierarchy=false is applied or warned about, never fatal", () => {
      const m = fresh("hier");
      const warns = apply(m, { memory: { useHierarchy: false } });
      const value = read(m.paths.memory!, "memory.use_hierarchy");
      if (value !== "0") expect(warns).toEqual(["cgroup: memory.useHierarchy=false ignored: this kernel only supports hierarchical accounting"]);
      apply(m, { memory: { useHierarchy: true } });
      expect(read(m.paths.memory!, "memory.use_hierarchy")).toBe("1");
    });

    test("memory: a limit below current usage is refused with the numbers", async () => {
      const m = fresh("busy");
      const d = m.paths.memory!;
      // The child allocates only once it is in the cgroup: v1 leaves charges made before a
      // move where they were.
      const inCgroup = `require("fs").readFileSync("/proc/self/cgroup", "utf8").split("\\n").some((l) => /(^|,)memory$/.test(l.split(":")[1] ?? "") && l.endsWith("/${d.split("/").pop()}"))`;
      const p = c.spawn([bun, "-e", `while (!(${inCgroup})) Bun.sleepSync(5); globalThis.keep = Buffer.alloc(64 << 20, 1); setInterval(() => {}, 1000)`]);
      await m.addProcess(p.pid);
      expect(await waitFor(() => BigInt(read(d, "memory.usage_in_bytes")) > 48n << 20n, 10000)).toBe(true);
      expectCgroupError(
        () => apply(m, { memory: { limit: 4194304, ...(existsSync(`${d}/memory.memsw.limit_in_bytes`) ? { swap: 4194304 } : {}) } }),
        /^cgroup memory\.(limit_in_bytes: unable to set memory limit to 4194304 \(current usage: \d+, peak usage: \d+\)|memsw\.limit_in_bytes: write 4194304: device or resource busy)$/,
      );
    });

    test("memory: swappiness out of range is an error", () => {
      const m = fresh("swappy");
      expectCgroupError(() => apply(m, { memory: { swappiness: 101 } }), /invalid memory swappiness value: 101 \(valid range is 0-100\)/);
    });

    test("cpu: shares, quota, period, burst", () => {
      const m = fresh("cpu");
      const d = m.paths.cpu!;
      const burst = existsSync(`${d}/cpu.cfs_burst_us`);
      const warns = apply(m, { cpu: { shares: 512, quota: 25000, period: 50000, burst: 1000 } });
      expect(read(d, "cpu.shares")).toBe("512");
      expect(read(d, "cpu.cfs_quota_us")).toBe("25000");
      expect(read(d, "cpu.cfs_period_us")).toBe("50000");
      if (burst) expect(read(d, "cpu.cfs_burst_us")).toBe("1000");
      else expect(warns).toEqual(["cgroup: cpu.burst ignored: this kernel has no cpu.cfs_burst_us"]);
      apply(m, { cpu: { quota: -1 } });
      expect(read(d, "cpu.cfs_quota_us")).toBe("-1");
    });

    test("cpu: idle", () => {
      const m = fresh("idle");
      const d = m.paths.cpu!;
      const warns = apply(m, { cpu: { idle: 1 } });
      if (existsSync(`${d}/cpu.idle`)) expect(read(d, "cpu.idle")).toBe("1");
      else expect(warns).toEqual(["cgroup: cpu.idle ignored: this kernel has no cpu.idle"]);
    });

    test("cpu: realtime period and runtime", () => {
      const m = fresh("rt");
      const d = m.paths.cpu!;
      if (!existsSync(`${d}/cpu.rt_runtime_us`)) {
        expectCgroupError(() => apply(m, { cpu: { realtimeRuntime: 10000 } }), /no real-time group scheduling/);
        return;
      }
      apply(m, { cpu: { realtimePeriod: 500000, realtimeRuntime: 10000 } });
      expect(read(d, "cpu.rt_period_us")).toBe("500000");
      expect(read(d, "cpu.rt_runtime_us")).toBe("10000");
    });

    test("cpu: shares the kernel clamps are refused", () => {
      const m = fresh("shares");
      expectCgroupError(() => apply(m, { cpu: { shares: 1 << 30 } }), /^cgroup cpu\.shares: the maximum allowed cpu-shares is \d+$/);
      expectCgroupError(() => apply(m, { cpu: { shares: 1 } }), /^cgroup cpu\.shares: the minimum allowed cpu-shares is \d+$/);
    });

    test("cpuset: cpus and mems, and an impossible cpu", () => {
      const m = fresh("cpus");
      const d = m.paths.cpuset!;
      apply(m, { cpu: { cpus: "0", mems: "0" } });
      expect(read(d, "cpuset.cpus")).toBe("0");
      expect(read(d, "cpuset.mems")).toBe("0");
      expectCgroupError(() => apply(m, { cpu: { cpus: "4095" } }), /^cgroup cpuset\.cpus: write 4095: (invalid argument|numerical result out of range)$/);
    });

    test("pids: a limit and unlimited", () => {
      const m = fresh("pids");
      apply(m, { pids: { limit: 10 } });
      expect(read(m.paths.pids!, "pids.max")).toBe("10");
      apply(m, { pids: { limit: -1 } });
      expect(read(m.paths.pids!, "pids.max")).toBe("max");
    });

    test("pids: the limit stops forks", async () => {
      const m = fresh("forks");
      apply(m, { pids: { limit: 1 } });
      const p = Bun.spawn(["/bin/sh", "-c", "read x; /bin/true; echo $?"], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
      c.track(p);
      await m.addProcess(p.pid);
      p.stdin.write("go\n");
      p.stdin.end();
      const out = await new Response(p.stdout).text();
      expect(out.trim()).not.toBe("0");
    });

    test("blockIO: throttles, and weights where the I/O scheduler has them", () => {
      const m = fresh("blkio");
      const d = m.paths.blkio!;
      const dev = someBlockDevice();
      expect(dev).toBeDefined();
      const { major, minor } = dev!;
      apply(m, {
        blockIO: {
          throttleReadBpsDevice: [{ major, minor, rate: 1048576 }],
          throttleWriteBpsDevice: [{ major, minor, rate: 2097152 }],
          throttleReadIOPSDevice: [{ major, minor, rate: 100 }],
          throttleWriteIOPSDevice: [{ major, minor, rate: 200 }],
        },
      });
      expect(read(d, "blkio.throttle.read_bps_device")).toBe(`${major}:${minor} 1048576`);
      expect(read(d, "blkio.throttle.write_bps_device")).toBe(`${major}:${minor} 2097152`);
      expect(read(d, "blkio.throttle.read_iops_device")).toBe(`${major}:${minor} 100`);
      expect(read(d, "blkio.throttle.write_iops_device")).toBe(`${major}:${minor} 200`);

      const weightFile = existsSync(`${d}/blkio.weight`) ? "blkio.weight" : existsSync(`${d}/blkio.bfq.weight`) ? "blkio.bfq.weight" : undefined;
      if (weightFile) {
        apply(m, { blockIO: { weight: 500 } });
        expect(read(d, weightFile)).toMatch(/(^|default )500$/m);
      } else {
        expectCgroupError(() => apply(m, { blockIO: { weight: 500 } }), /no blkio\.weight or blkio\.bfq\.weight/);
      }
      if (existsSync(`${d}/blkio.leaf_weight`)) {
        apply(m, { blockIO: { leafWeight: 300 } });
        expect(read(d, "blkio.leaf_weight")).toBe("300");
      } else {
        expectCgroupError(() => apply(m, { blockIO: { leafWeight: 300 } }), /^cgroup blkio\.leaf_weight: write 300: no such file or directory$/);
      }
    });

    test("hugetlb: a limit per page size, in v1 or in the hybrid unified hierarchy", () => {
      const sizes = hugePageSizes();
      const m = fresh("huge");
      const v1 = m.paths.hugetlb;
      const hybrid = m.paths[""];
      const hybridRoot = hybrid ? unifiedMountOf(hybrid)?.mountpoint : undefined;
      const hybridHas = !!hybridRoot && read(hybridRoot, "cgroup.controllers").split(" ").includes("hugetlb");
      if (hybridRoot && !v1) {
        const before = read(hybridRoot, "cgroup.subtree_control");
        c.defer(() => {
          if (!before.split(" ").includes("hugetlb")) writeFile(hybridRoot, "cgroup.subtree_control", "-hugetlb");
        });
      }
      if (sizes.length === 0 || (!v1 && !hybridHas)) {
        expectCgroupError(() => apply(m, { hugepageLimits: [{ pageSize: "2MB", limit: 4194304 }] }), /hugetlb|page size/);
        return;
      }
      const size = sizes.includes("2MB") ? "2MB" : sizes[0]!;
      apply(m, { hugepageLimits: [{ pageSize: size, limit: 4194304 * 4 }] });
      if (v1) expect(read(v1, `hugetlb.${size}.limit_in_bytes`)).toBe(String(4194304 * 4));
      else expect(read(hybrid!, `hugetlb.${size}.max`)).toBe(String(4194304 * 4));
      expectCgroupError(
        () => apply(m, { hugepageLimits: [{ pageSize: "3MB", limit: 4194304 }] }),
        /^cgroup: hugepageLimits: page size 3MB is not supported by this kernel \(supported: .+\)$/,
      );
      expect(Object.keys(m.stats().hugetlb)).toContain(size);
    });

    test("network: classID and priorities, or a warning without net_cls/net_prio", () => {
      const m = fresh("net");
      const warns = apply(m, { network: { classID: 0x100001, priorities: [{ name: "lo", priority: 5 }] } });
      if (m.paths.net_cls) expect(read(m.paths.net_cls, "net_cls.classid")).toBe(String(0x100001));
      else expect(warns).toContain("cgroup: network.classID ignored: the net_cls controller is not mounted");
      if (m.paths.net_prio) expect(read(m.paths.net_prio, "net_prio.ifpriomap")).toContain("lo 5");
      else expect(warns).toContain("cgroup: network.priorities ignored: the net_prio controller is not mounted");
    });

    test("devices: deny all, the config's rules, then the defaults", () => {
      const m = fresh("dev");
      const d = m.paths.devices!;
      apply(m, {
        devices: [
          { allow: false, access: "rwm" },
          { allow: true, type: "c", major: 10, minor: 229, access: "rwm" },
          { allow: true, type: "b", major: 8, minor: 20, access: "rw" },
        ],
      });
      const list = read(d, "devices.list").split("\n");
      expect(list).toContain("c 10:229 rwm");
      expect(list).toContain("b 8:20 rw");
      expect(list).toContain("c 1:3 rwm");
      expect(list).toContain("c *:* m");
      expect(list).toContain("c 136:* rwm");
      expect(list).not.toContain("a *:* rwm");
    });

    test("devices: no resources at all still confines the device access", () => {
      const m = fresh("devdef");
      apply(m, undefined);
      const list = read(m.paths.devices!, "devices.list").split("\n");
      expect(list).not.toContain("a *:* rwm");
      expect(list).toContain("c 1:5 rwm");
      expect(list).toHaveLength(11);
    });

    test("devices: an allow-all config stays allow-all", () => {
      const m = fresh("devall");
      apply(m, { devices: [{ allow: true, access: "rwm" }] });
      expect(read(m.paths.devices!, "devices.list")).toBe("a *:* rwm");
    });

    test("unified is refused on v1 unless empty", () => {
      const m = fresh("unified");
      expect(apply(m, { unified: {} })).toEqual([]);
      expectCgroupError(() => apply(m, { unified: { "memory.high": "1" } }), /cannot use linux\.resources\.unified on cgroup v1/);
    });
  });

  describe("processes", () => {
    test("addProcess joins every hierarchy; pids() sees the cgroup and below", async () => {
      const m = fresh("procs");
      const p1 = c.spawn(["sleep", "30"]);
      await m.addProcess(p1.pid);
      for (const [key, path] of Object.entries(m.paths)) {
        const mount = key === "" ? unifiedMountOf(path)!.mountpoint : hier.get(key)!.mountpoint;
        expect(procCgroup(p1.pid, key)).toBe(path.slice(mount.length));
      }
      const sub = `${m.paths.devices}/sub`;
      mkdirSync(sub);
      const p2 = c.spawn(["sleep", "30"]);
      writeFile(sub, "cgroup.procs", String(p2.pid));
      expect(m.pids().sort()).toEqual([p1.pid, p2.pid].sort());
    });

    test("freeze stops the processes until thaw; frozen() tells", async () => {
      const m = fresh("freeze");
      const file = `/tmp/${uniqueName("tick")}`;
      c.defer(() => rmSync(file, { force: true }));
      const p = c.spawn(tickerCommand(file));
      await m.addProcess(p.pid);
      expect(await waitFor(() => sizeOf(file) > 0)).toBe(true);
      expect(await m.frozen()).toBe(false);

      await m.freeze();
      expect(read(m.paths.freezer!, "freezer.state")).toBe("FROZEN");
      expect(await m.frozen()).toBe(true);
      // The task may still be on its way into the freezer's sleep for a moment.
      expect(await waitFor(() => ["D", "T", "S"].includes(procState(p.pid)), 1000)).toBe(true);
      const size = sizeOf(file);
      await Bun.sleep(300);
      expect(sizeOf(file)).toBe(size);

      await m.thaw();
      expect(read(m.paths.freezer!, "freezer.state")).toBe("THAWED");
      expect(await m.frozen()).toBe(false);
      expect(await waitFor(() => sizeOf(file) > size)).toBe(true);
    });

    test("killAll signals every process, also while frozen", async () => {
      const m = fresh("kill");
      const a = c.spawn(["sleep", "30"]);
      const b = c.spawn(["sleep", "30"]);
      await m.addProcess(a.pid);
      await m.addProcess(b.pid);
      await m.killAll(15);
      expect(await a.exited).toBe(143);
      expect(await b.exited).toBe(143);
      const d = c.spawn(["sleep", "30"]);
      await m.addProcess(d.pid);
      await m.freeze();
      await m.killAll(9);
      expect(await d.exited).toBe(137);
      expect(await waitFor(() => m.pids().length === 0)).toBe(true);
    });

    test("stats: runc's shape filled from the kernel", async () => {
      const m = fresh("stats");
      apply(m, { memory: { limit: 104857600 }, pids: { limit: 20 } });
      // Waits for the move, then execs: the new image's pages are charged here.
      const p = Bun.spawn(["/bin/sh", "-c", 'read x; exec /bin/sh -c "i=0; while [ \\$i -lt 300000 ]; do i=\\$((i+1)); done; sleep 30"'], {
        stdin: "pipe",
        stdout: "ignore",
        stderr: "ignore",
      });
      c.track(p);
      await m.addProcess(p.pid);
      p.stdin.write("go\n");
      p.stdin.end();
      const acct = m.paths.cpuacct ?? m.paths.cpu;
      await waitFor(() => read(acct!, "cpuacct.usage") !== "0" && read(m.paths.memory!, "memory.usage_in_bytes") !== "0", 5000);
      const s = m.stats();
      expect(s.pids.current).toBeGreaterThanOrEqual(1n);
      expect(s.pids.limit).toBe(20n);
      expect(s.memory.usage.limit).toBe(104857600n);
      expect(s.memory.usage.usage).toBeGreaterThan(0n);
      expect(Object.keys(s.memory.raw)).toContain("cache");
      if (m.paths.cpuacct) {
        expect(s.cpu.usage.total).toBeGreaterThan(0n);
        expect(s.cpu.usage.percpu.length).toBeGreaterThan(0);
      }
      expect(s.cpuset.cpus.length).toBeGreaterThan(0);
      const data = JSON.parse(statsEvent("x", s)).data;
      expect(Object.keys(data)).toEqual(["cpu", "cpuset", "memory", "pids", "blkio", "hugetlb", "intel_rdt", "network_interfaces"]);
      expect(data.memory.usage.limit).toBe(104857600);
      expect(data.pids.limit).toBe(20);
    });

    test("loadCgroup rebuilds the manager from the recorded paths", async () => {
      const m = fresh("load");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      const again = loadCgroup(1, JSON.parse(JSON.stringify(m.paths)));
      expect(again.version).toBe(1);
      expect(again.paths).toEqual(m.paths);
      expect(again.pids()).toEqual([p.pid]);
      await again.freeze();
      expect(await m.frozen()).toBe(true);
      await again.thaw();
    });
  });

  describe("destroy", () => {
    test("removes every directory and tolerates being repeated", async () => {
      const m = fresh("destroy");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      mkdirSync(`${m.paths.memory}/child`);
      p.kill(9);
      await p.exited;
      await m.destroy();
      for (const path of Object.values(m.paths)) expect(existsSync(path)).toBe(false);
      await m.destroy();
    });

    test("a cgroup with a live process is busy: a one-line error", async () => {
      const m = fresh("busy-rm");
      const p = c.spawn(["sleep", "30"]);
      await m.addProcess(p.pid);
      await expectCgroupErrorAsync(() => m.destroy(), /^cgroup \/sys\/fs\/cgroup\/.+: rmdir: device or resource busy$/);
    });

    // delete of a stopped container removes through bun:ffi rather than node:fs.
    test("through libc's rmdir: sub-cgroups go first, and a busy cgroup is the same one-line error", async () => {
      const m = fresh("ffi-rm");
      mkdirSync(`${m.paths.memory}/child/grandchild`, { recursive: true });
      mkdirSync(`${m.paths.pids}/child`);
      await teardownOf(1, m.paths, ffiRemover).destroy();
      for (const path of Object.values(m.paths)) expect(existsSync(path)).toBe(false);
      await teardownOf(1, m.paths, ffiRemover).destroy();

      const busy = fresh("ffi-busy");
      const p = c.spawn(["sleep", "30"]);
      await busy.addProcess(p.pid);
      await expectCgroupErrorAsync(() => teardownOf(1, busy.paths, ffiRemover).destroy(), /^cgroup \/sys\/fs\/cgroup\/.+: rmdir: device or resource busy$/);
    });
  });
});

// The suite-wide leak check after every test, as for every other test file. Registered
// last, so that it runs after this file's own cleanup hooks.
useHarness("cgroups-v1");
