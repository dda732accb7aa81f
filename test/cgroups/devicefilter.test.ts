// The v2 device allowlist is a BPF program: load it for real on this host's cgroup2
// hierarchy and check what a process in that cgroup may open.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, rmdirSync, writeFileSync } from "node:fs";
import { applyDevicesV2, type DeviceRule } from "../../src/cgroups/devices";
import { deviceFilterProgram } from "../../src/cgroups/devicefilter";
import { unifiedMount } from "../../src/cgroups/mounts";
import { useHarness } from "../lib/harness";


const mount = unifiedMount("/sys/fs/cgroup")?.mountpoint ?? (existsSync("/sys/fs/cgroup/cgroup.controllers") ? "/sys/fs/cgroup" : undefined);
const dir = mount ? `${mount}/dxt-devfilter-${process.pid}` : "";

afterAll(() => {
  if (dir && existsSync(dir)) rmdirSync(dir);
});

async function probe(script: string): Promise<string> {
  const p = Bun.spawn(["sh", "-c", `read _; ${script}`], { stdin: "pipe", stdout: "pipe", stderr: "ignore" });
  writeFileSync(`${dir}/cgroup.procs`, String(p.pid));
  p.stdin.write("go\n");
  p.stdin.end();
  await p.exited;
  return (await new Response(p.stdout).text()).trim();
}

const allow = (type: "a" | "b" | "c", major: number, minor: number, access: string): DeviceRule => ({ allow: true, type, major, minor, access });
const deny = (type: "a" | "b" | "c", major: number, minor: number, access: string): DeviceRule => ({ allow: false, type, major, minor, access });

test("program ends in a default deny and has one exit per rule", () => {
  const prog = deviceFilterProgram([allow("c", 1, 3, "rwm")]);
  expect(prog.length % 8).toBe(0);
  const last = prog.subarray(prog.length - 16);
  expect(last[0]).toBe(0xb7); // r0 = 0
  expect(new DataView(last.buffer, last.byteOffset).getInt32(4, true)).toBe(0);
  expect(last[8]).toBe(0x95); // exit
});

test.skipIf(!mount)("a device outside the allowlist cannot be opened; an update swaps the filter", async () => {
  mkdirSync(dir, { recursive: true });
  applyDevicesV2(dir, [deny("a", -1, -1, "rwm"), allow("c", 1, 5, "r")]);
  expect(await probe("cat /dev/null && echo null-ok || echo null-denied")).toBe("null-denied");
  expect(await probe("head -c1 /dev/zero | wc -c")).toBe("1");
  expect(await probe("echo x > /dev/zero && echo w-ok || echo w-denied")).toBe("w-denied");
  // last matching rule wins, as with v1's devices.allow/deny
  applyDevicesV2(dir, [allow("c", 1, 3, "rwm"), deny("c", 1, 3, "w")]);
  expect(await probe("cat /dev/null && echo r-ok || echo r-denied")).toBe("r-ok");
  expect(await probe("echo x > /dev/null && echo w-ok || echo w-denied")).toBe("w-denied");
  applyDevicesV2(dir, [allow("a", -1, -1, "rwm")]);
  expect(await probe("echo x > /dev/null && echo w-ok || echo w-denied")).toBe("w-ok");
});

// The suite-wide leak check after every test, as for every other test file. Registered
// last, so that it runs after this file's own cleanup hooks.
useHarness("cgroups-devicefilter");
