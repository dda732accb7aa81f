// Commands that don't touch containers: spec, features, --version, --help.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { fails, ok, rt, scratchDir, useHarness } from "../lib/harness";

useHarness("info");

const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

test("spec writes a runc-like config.json in the current directory", async () => {
  const dir = scratchDir("spec");
  ok(await rt(["spec"], { cwd: dir }));
  const c = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  expect(c.ociVersion).toMatch(SEMVER);
  expect(c.process).toMatchObject({ terminal: true, args: ["sh"], cwd: "/", user: { uid: 0, gid: 0 } });
  expect(c.root).toEqual({ path: "rootfs", readonly: true });
  expect(c.mounts.map((m: { destination: string }) => m.destination)).toEqual(
    expect.arrayContaining(["/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys"]),
  );
  const ns = c.linux.namespaces.map((n: { type: string }) => n.type).sort();
  expect(ns).toEqual(["ipc", "mount", "network", "pid", "uts"]);
  expect(c.linux.maskedPaths).toContain("/proc/kcore");
  expect(c.linux.readonlyPaths).toContain("/proc/sys");
});

test("spec --bundle writes into that directory", async () => {
  const dir = scratchDir("spec");
  ok(await rt(["spec", "--bundle", dir]));
  expect(fs.existsSync(path.join(dir, "config.json"))).toBe(true);
});

test("spec refuses to overwrite an existing config.json", async () => {
  const dir = scratchDir("spec");
  fs.writeFileSync(path.join(dir, "config.json"), "mine");
  fails(await rt(["spec"], { cwd: dir }));
  expect(fs.readFileSync(path.join(dir, "config.json"), "utf8")).toBe("mine");
});

test("spec --rootless maps the caller into a user namespace", async () => {
  const dir = scratchDir("spec");
  ok(await rt(["spec", "--rootless"], { cwd: dir }));
  const c = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
  expect(c.linux.namespaces.map((n: { type: string }) => n.type)).toContain("user");
  expect(c.linux.uidMappings).toEqual([{ containerID: 0, hostID: process.getuid!(), size: 1 }]);
  expect(c.linux.gidMappings).toEqual([{ containerID: 0, hostID: process.getgid!(), size: 1 }]);
});

test("features describes what the runtime supports", async () => {
  const f = JSON.parse(ok(await rt(["features"])).stdout);
  expect(f.ociVersionMin).toMatch(SEMVER);
  expect(f.ociVersionMax).toMatch(SEMVER);
  expect(f.hooks).toEqual(
    expect.arrayContaining(["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"]),
  );
  expect(f.mountOptions).toEqual(expect.arrayContaining(["bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec"]));
  expect(f.linux.namespaces).toEqual(expect.arrayContaining(["cgroup", "ipc", "mount", "network", "pid", "user", "uts"]));
  expect(f.linux.capabilities).toEqual(expect.arrayContaining(["CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"]));
  expect(typeof f.linux.cgroup.v1).toBe("boolean");
  expect(typeof f.linux.cgroup.v2).toBe("boolean");
  expect(typeof f.linux.seccomp.enabled).toBe("boolean");
});

test("--version names the runtime version and the spec version", async () => {
  const r = ok(await rt(["--version"], { noRoot: true }));
  expect(r.stdout).toMatch(/version \d+\.\d+\.\d+/);
  expect(r.stdout).toMatch(/^spec: \d+\.\d+\.\d+/m);
  const v = ok(await rt(["-v"], { noRoot: true }));
  expect(v.stdout).toBe(r.stdout);
});

test("--help lists the commands", async () => {
  const r = ok(await rt(["--help"], { noRoot: true }));
  for (const cmd of ["create", "start", "state", "kill", "delete", "run", "list", "spec", "features"]) {
    expect(r.stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, "m"));
  }
});

// containerd drives all of these through the runc command line.
const COMMANDS = [
  "create",
  "start",
  "state",
  "kill",
  "delete",
  "run",
  "list",
  "spec",
  "features",
  "exec",
  "ps",
  "pause",
  "resume",
  "events",
  "update",
];

for (const cmd of COMMANDS) {
  test(`${cmd} --help`, async () => {
    const r = ok(await rt([cmd, "--help"]));
    expect(r.stdout).toContain(cmd);
    expect(r.stdout.toLowerCase()).toContain("usage");
  });
}

test("an unknown command fails", async () => {
  fails(await rt(["dxt-no-such-command"]));
});

test("an unknown flag fails", async () => {
  fails(await rt(["create", "--dxt-no-such-flag", "x"]));
});
