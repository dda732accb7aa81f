// linux.resources → systemd unit properties, as the systemd driver sends them over D-Bus.
// (The driver itself is proven on a real systemd host: test/vm/systemd.)
import { describe, expect, test } from "bun:test";
import { deviceProperties, INFINITY, quotaPerSecUSec, resourceProperties, setToBytes } from "../../src/cgroups/systemd/properties";
import { unitOf, unitOfDir } from "../../src/cgroups/systemd/manager";
import { deviceRules } from "../../src/cgroups/devices";

const byName = (p: [string, [string, unknown]][]) => Object.fromEntries(p.map(([k, v]) => [k, v]));

describe("systemd properties", () => {
  test("memory, cpu, pids, io", () => {
    const p = byName(
      resourceProperties(
        {
          memory: { limit: 64 << 20, reservation: 32 << 20, swap: 128 << 20 },
          cpu: { shares: 1024, quota: 50000, period: 100000, cpus: "0-2,9", mems: "0" },
          pids: { limit: 20 },
          blockIO: { weight: 500 },
        },
        { devices: false },
      ),
    );
    expect(p.MemoryMax).toEqual(["t", String(64 << 20)]);
    expect(p.MemoryLow).toEqual(["t", String(32 << 20)]);
    expect(p.MemorySwapMax).toEqual(["t", String(64 << 20)]);
    expect(p.CPUWeight).toEqual(["t", "100"]);
    expect(p.CPUQuotaPerSecUSec).toEqual(["t", "500000"]);
    expect(p.CPUQuotaPeriodUSec).toEqual(["t", "100000"]);
    expect(p.AllowedCPUs).toEqual(["ay", [0b111, 0b10]]);
    expect(p.AllowedMemoryNodes).toEqual(["ay", [1]]);
    expect(p.TasksMax).toEqual(["t", "20"]);
    expect(p.IOWeight).toEqual(["t", String(1 + Math.floor((490 * 9999) / 990))]);
    expect(p.DevicePolicy).toBeUndefined();
  });

  test("cgroup v1: runc's v1 names (MemoryLimit, CPUShares, BlockIOWeight), no v2-only ones", () => {
    const p = byName(
      resourceProperties(
        { memory: { limit: 64 << 20, reservation: 1 << 20, swap: 128 << 20 }, cpu: { shares: 512, quota: 20000 }, pids: { limit: 20 }, blockIO: { weight: 300 } },
        { devices: false, version: 1 },
      ),
    );
    expect(p.MemoryLimit).toEqual(["t", String(64 << 20)]);
    expect(p.CPUShares).toEqual(["t", "512"]);
    expect(p.BlockIOWeight).toEqual(["t", "300"]);
    expect(p.TasksMax).toEqual(["t", "20"]);
    expect(p.CPUQuotaPerSecUSec).toEqual(["t", "200000"]);
    for (const k of ["MemoryMax", "MemoryLow", "MemorySwapMax", "CPUWeight", "IOWeight"]) expect(p[k]).toBeUndefined();
  });

  test("unified keys systemd has a property for; they come after the translated ones", () => {
    const list = resourceProperties(
      {
        memory: { limit: 64 << 20 },
        unified: {
          "memory.max": "max",
          "memory.high": " 50000000\n",
          "memory.min": "1000",
          "memory.swap.max": "0",
          "cpu.weight": "300",
          "cpu.max": "max 50000",
          "pids.max": "7",
          "cpuset.cpus": "1",
          "io.weight": "200",
          "memory.oom.group": "1",
        },
      },
      { devices: false },
    );
    const p = byName(list);
    expect(list.filter(([k]) => k === "MemoryMax").map(([, v]) => v)).toEqual([["t", String(64 << 20)], ["t", INFINITY]]);
    expect(p.MemoryMax).toEqual(["t", INFINITY]);
    expect(p.MemoryHigh).toEqual(["t", "50000000"]);
    expect(p.MemoryMin).toEqual(["t", "1000"]);
    expect(p.MemorySwapMax).toEqual(["t", "0"]);
    expect(p.CPUWeight).toEqual(["t", "300"]);
    expect(p.CPUQuotaPeriodUSec).toEqual(["t", "50000"]);
    expect(p.CPUQuotaPerSecUSec).toEqual(["t", INFINITY]);
    expect(p.TasksMax).toEqual(["t", "7"]);
    expect(p.AllowedCPUs).toEqual(["ay", [2]]);
    expect(Object.keys(p)).not.toContain("OOMPolicy");
    expect(byName(resourceProperties({ unified: { "cpu.max": "20000" } }, { devices: false })).CPUQuotaPerSecUSec).toEqual(["t", "200000"]);
    expect(() => resourceProperties({ unified: { "pids.max": "lots" } }, { devices: false })).toThrow(/pids.max/);
    expect(() => resourceProperties({ unified: { "cpu.max": "1 2 3" } }, { devices: false })).toThrow(/cpu.max/);
  });

  test("-1 is infinity; 0 and absent leave a property out", () => {
    const p = byName(resourceProperties({ memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: -1 } }, { devices: false }));
    expect(p.MemoryMax).toEqual(["t", INFINITY]);
    expect(p.TasksMax).toEqual(["t", INFINITY]);
    expect(p.CPUQuotaPerSecUSec).toEqual(["t", INFINITY]);
    expect(resourceProperties({ memory: { limit: 0 }, pids: { limit: 0 } }, { devices: false })).toEqual([]);
  });

  test("quota per second rounds up to 10 ms as runc does", () => {
    expect(quotaPerSecUSec(20000, 100000)).toBe("200000");
    expect(quotaPerSecUSec(1234, 100000)).toBe("20000");
    expect(quotaPerSecUSec(5000, 1000000)).toBe("10000");
  });

  test("cpu sets are bitmasks, byte i bit j = 8i+j", () => {
    expect(setToBytes("0", "x")).toEqual([1]);
    expect(setToBytes("8-9", "x")).toEqual([0, 3]);
    expect(() => setToBytes("2-1", "x")).toThrow(/invalid x/);
  });

  test("devices: the defaults are strict with an allowlist; allow-all is auto", () => {
    const d = byName(deviceProperties(deviceRules([])));
    expect(d.DevicePolicy).toEqual(["s", "strict"]);
    const allow = (d.DeviceAllow as [string, [string, string][]])[1];
    expect(allow).toContainEqual(["/dev/char/1:3", "rwm"]);
    expect(allow).toContainEqual(["char-*", "m"]);
    expect(allow).toContainEqual(["block-*", "m"]);
    const all = byName(deviceProperties(deviceRules([{ allow: true, access: "rwm" }])));
    expect(all.DevicePolicy).toEqual(["s", "auto"]);
  });
});

describe("systemd units", () => {
  test("slice:prefix:name → unit, slice and path", () => {
    expect(unitOf({ id: "c", systemd: true, cgroupsPath: "machine.slice:libpod:abc" }, false)).toEqual({
      unit: "libpod-abc.scope",
      slice: "machine.slice",
      path: "/machine.slice/libpod-abc.scope",
    });
    expect(unitOf({ id: "c", systemd: true, cgroupsPath: "kubepods-besteffort-pod1.slice:cri-containerd:x" }, false).path).toBe(
      "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod1.slice/cri-containerd-x.scope",
    );
    expect(unitOf({ id: "c", systemd: true }, false).unit).toBe("dx-runtime-c.scope");
    expect(unitOf({ id: "c", systemd: true }, true).path).toBe("/user.slice/dx-runtime-c.scope");
  });

  test("the unit of a recorded directory", () => {
    expect(unitOfDir("/sys/fs/cgroup/system.slice/x-1.scope")).toBe("x-1.scope");
    expect(unitOfDir("/sys/fs/cgroup/plain/dir")).toBeUndefined();
  });
});
