// Faults: the runtime SIGKILLed at every stage of create, an init that dies before start,
// hooks that hang past their timeout, a full state disk. Afterwards `state` never claims
// a container that isn't there, `delete --force` removes every trace, and the leak
// checker (after each test) finds nothing.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  create,
  currentSuite,
  destroy,
  explain,
  makeBundle,
  ok,
  oneErrorLine,
  rt,
  scratchDir,
  state,
  statusOf,
  uniqueId,
  useHarness,
  waitFor,
} from "../lib/harness";
import { mountTable } from "../lib/leaks";

useHarness("faults", { timeoutMs: 120_000 });

function alive(pid: number): boolean {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return s.slice(s.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/**
 * After a create was killed: the container is either absent, stopped, or really created
 * (then it must start and run). Then delete --force must leave nothing.
 */
async function checkAfterKill(id: string, what: string): Promise<string> {
  const r = await rt(["state", id]);
  let status = "absent";
  if (r.code === 0) {
    const st = JSON.parse(r.stdout);
    status = st.status;
    expect({ what, status }).not.toEqual({ what, status: "running" });
    expect({ what, status }).not.toEqual({ what, status: "creating" });
    if (status === "created") {
      // Claimed created: it has to be true.
      expect(alive(st.pid)).toBe(true);
      ok(await rt(["start", id]));
      expect(await statusOf(id)).toBe("running");
    } else {
      expect({ what, status }).toEqual({ what, status: "stopped" });
      // A stopped container cannot be started.
      oneErrorLine(await rt(["start", id]));
    }
  } else {
    expect(r.stderr).toMatch(/does not exist/);
  }
  ok(await rt(["delete", "--force", id]));
  expect(await statusOf(id)).toBeUndefined();
  return status;
}

test("SIGKILL of create at many points in time: no false state, delete --force cleans up", async () => {
  const outcomes: Record<string, number> = {};
  for (const delay of [1, 10, 25, 40, 60, 80, 100, 130, 160, 200, 250, 300, 400, 500, 700]) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    const r = await rt(["create", "--bundle", b.dir, id], { timeoutMs: delay });
    const status = r.timedOut ? await checkAfterKill(id, `killed at ${delay}ms`) : "completed";
    if (!r.timedOut) {
      ok(r);
      await destroy(id);
    }
    outcomes[status] = (outcomes[status] ?? 0) + 1;
  }
  // The sweep must have caught create in the act at least once.
  expect(Object.keys(outcomes).some((k) => k !== "completed")).toBe(true);
});

test("SIGKILL of create during a createRuntime hook (after clone, before created)", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const mark = path.join(b.dir, "hook-pid");
  b.config.hooks = { createRuntime: [{ path: "/bin/sh", args: ["sh", "-c", `echo $$ > ${mark}; exec sleep 30`] }] };
  b.write();
  const id = uniqueId();
  const run = rt(["create", "--bundle", b.dir, id], { timeoutMs: 60_000 });
  const hookPid = await waitFor(() => (fs.existsSync(mark) ? Number(fs.readFileSync(mark, "utf8")) : 0), { what: "the hook" });
  const st = await state(id);
  // Still being set up: never reported as created.
  expect(st.status).toBe("creating");
  const initPid = st.pid as number;
  // Kill the runtime: its pid is the `creator`, found through the state dir's process.
  const creator = findRuntime(id);
  expect(creator).toBeGreaterThan(0);
  process.kill(creator, "SIGKILL");
  const r = await run;
  expect(r.signal).toBe("SIGKILL");
  try {
    expect(await statusOf(id)).toBe("stopped");
    ok(await rt(["delete", "--force", id]));
    expect(await statusOf(id)).toBeUndefined();
    // The init gave up once the runtime's end of its socket closed.
    if (initPid) await waitFor(() => !alive(initPid), { what: `init ${initPid} to exit` });
  } finally {
    try {
      process.kill(hookPid, "SIGKILL");
    } catch {}
  }
});

/** The pid of the dx-runtime whose command line names this container. */
function findRuntime(id: string): number {
  for (const n of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${n}/cmdline`, "utf8").split("\0");
      if (cmd.includes("create") && cmd.includes(id) && !fs.readlinkSync(`/proc/${n}/exe`).startsWith("/memfd:")) return Number(n);
    } catch {}
  }
  return 0;
}

test("SIGKILL of create while the init waits in a createContainer hook", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const out = b.hostDir("/out");
  // createContainer runs in the container's namespaces before pivot_root: host paths.
  b.config.hooks = { createContainer: [{ path: "/bin/sh", args: ["sh", "-c", `echo started > ${out}/hook; exec sleep 30`] }] };
  b.write();
  const id = uniqueId();
  const run = rt(["create", "--bundle", b.dir, id], { timeoutMs: 60_000 });
  await waitFor(() => fs.existsSync(path.join(out, "hook")), { what: "the hook" });
  const creator = findRuntime(id);
  expect(creator).toBeGreaterThan(0);
  process.kill(creator, "SIGKILL");
  expect((await run).signal).toBe("SIGKILL");
  expect(await statusOf(id)).toBe("stopped");
  ok(await rt(["delete", "--force", id]));
  expect(await statusOf(id)).toBeUndefined();
});

test("the init dying before start: stopped, start fails clearly, plain delete works", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const { id } = await create(b);
  const pid = (await state(id)).pid as number;
  process.kill(pid, "SIGKILL");
  await waitFor(() => !alive(pid), { what: "init to die" });
  expect(await statusOf(id)).toBe("stopped");
  const line = oneErrorLine(await rt(["start", id]));
  expect(line).toMatch(/stopped|exited/);
  ok(await rt(["delete", id]));
  expect(await statusOf(id)).toBeUndefined();
});

for (const point of ["createRuntime", "prestart", "createContainer", "startContainer", "poststart"] as const) {
  test(`a ${point} hook that hangs past its timeout fails the container cleanly`, async () => {
    const b = makeBundle({ args: ["sleep", "100"] });
    // A hook that also leaves a grandchild holding its output open.
    b.config.hooks = { [point]: [{ path: "/bin/sh", args: ["sh", "-c", "sleep 100 & sleep 100"], timeout: 1 }] };
    b.write();
    const id = uniqueId();
    const t0 = Date.now();
    let r = await rt(["create", "--bundle", b.dir, id], { timeoutMs: 30_000 });
    if (point === "startContainer" || point === "poststart") {
      ok(r);
      r = await rt(["start", id], { timeoutMs: 30_000 });
    }
    const took = Date.now() - t0;
    try {
      expect(r.timedOut).toBe(false);
      const line = oneErrorLine(r);
      expect(line).toContain(point);
      expect(line).toMatch(/timed out|killed/);
      expect(took).toBeLessThan(15_000);
      expect(await statusOf(id)).not.toBe("running");
    } finally {
      await destroy(id);
    }
    expect(await statusOf(id)).toBeUndefined();
  });
}

test("a full disk under --root: create fails with one clear line and leaves nothing", async () => {
  const dir = scratchDir("fullroot");
  const r0 = spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k,nr_inodes=64", "tmpfs", dir], { encoding: "utf8" });
  expect(r0.status).toBe(0);
  const root = path.join(dir, "state");
  try {
    fs.mkdirSync(root);
    // Fill every page the tmpfs has.
    spawnSync("dd", ["if=/dev/zero", `of=${path.join(dir, "filler")}`, "bs=4k"], { encoding: "utf8" });
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    const r = await rt(["--root", root, "create", "--bundle", b.dir, id], { noRoot: true, timeoutMs: 30_000 });
    if (r.code === 0) throw new Error(`create succeeded on a full disk: ${explain(r)}`);
    const line = oneErrorLine(r);
    expect(line).toMatch(/no space|ENOSPC/i);
    expect(line).not.toMatch(/undefined|\bat .*\.ts:/);
    expect(fs.readdirSync(root)).toEqual([]);
    // The same root still works once there is room again. It then keeps a copy of the
    // init stub to start it from, and nothing else.
    fs.rmSync(path.join(dir, "filler"));
    const id2 = uniqueId();
    ok(await rt(["--root", root, "create", "--bundle", b.dir, id2], { noRoot: true }));
    ok(await rt(["--root", root, "delete", "--force", id2], { noRoot: true }));
    expect(fs.readdirSync(root).filter((n) => !/^\.dx-init-[0-9a-z]+$/.test(n))).toEqual([]);
  } finally {
    spawnSync("umount", ["-l", dir]);
  }
  expect(mountTable().some((m) => m.mountPoint === dir)).toBe(false);
});

test("inode exhaustion under --root: the state dir cannot be made, a clear error", async () => {
  const dir = scratchDir("noinodes");
  expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m,nr_inodes=8", "tmpfs", dir]).status).toBe(0);
  try {
    for (let i = 0; ; i++) {
      try {
        fs.writeFileSync(path.join(dir, `f${i}`), "");
      } catch {
        break;
      }
    }
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    const r = await rt(["--root", dir, "create", "--bundle", b.dir, id], { noRoot: true, timeoutMs: 30_000 });
    const line = oneErrorLine(r);
    expect(line).toMatch(/no space|ENOSPC/i);
    expect(fs.existsSync(path.join(dir, id))).toBe(false);
  } finally {
    spawnSync("umount", ["-l", dir]);
  }
});

test("a cgroupsPath naming a shared cgroup (a hierarchy root, the runtime's own) is refused", async () => {
  for (const cgroupsPath of ["/", ".", "..", "/../..", "a/../.."]) {
    const b = makeBundle({ args: ["sleep", "100"], patch: (c) => (c.linux.cgroupsPath = cgroupsPath) });
    const id = uniqueId();
    const r = await rt(["create", "--bundle", b.dir, id]);
    if (r.code === 0) {
      // Never delete it: that would kill every process in the shared cgroup.
      const pid = (await state(id)).pid as number;
      process.kill(pid, "SIGKILL");
      fs.rmSync(path.join(currentSuite().root, id), { recursive: true, force: true });
      throw new Error(`cgroupsPath ${cgroupsPath} accepted: ${explain(r)}`);
    }
    expect(oneErrorLine(r)).toMatch(/cgroupsPath/);
    expect(await statusOf(id)).toBeUndefined();
  }
  // Still here: nothing on the way killed the processes of a shared cgroup.
  expect(alive(process.pid)).toBe(true);
});

test("a cgroupsPath naming another container's populated cgroup is shared with a warning, the other unharmed", async () => {
  const a = makeBundle({ args: ["sleep", "100"], patch: (c) => (c.linux.cgroupsPath = `/dxt-shared-${process.pid}-${Date.now()}`) });
  const ida = uniqueId();
  ok(await rt(["run", "-d", "--bundle", a.dir, ida]));
  try {
    const pidA = (await state(ida)).pid as number;
    const b = makeBundle({ args: ["sleep", "100"], patch: (c) => (c.linux.cgroupsPath = a.config.linux.cgroupsPath) });
    const idb = uniqueId();
    const r = await rt(["create", "--bundle", b.dir, idb]);
    // Whether or not it was refused, deleting it must not reach the other container.
    ok(await rt(["delete", "--force", idb]));
    expect(alive(pidA)).toBe(true);
    expect(await statusOf(ida)).toBe("running");
    // runc 1.1 warns and goes on.
    ok(r);
    expect(r.stderr).toContain("container's cgroup is not empty: 1 process(es) found");
  } finally {
    await destroy(ida);
  }
});

test("SIGKILL of delete and exec at many points: a second delete --force still removes everything", async () => {
  for (const delay of [1, 10, 25, 50, 80, 120, 200]) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    ok(await rt(["run", "-d", "--bundle", b.dir, id]));
    const ex = await rt(["exec", id, "sleep", "100"], { timeoutMs: delay });
    if (!ex.timedOut) ok(ex);
    const del = await rt(["delete", "--force", id], { timeoutMs: delay });
    if (!del.timedOut) ok(del);
    const status = await statusOf(id);
    // Half deleted is never reported as alive-and-well created.
    expect(status === undefined || status === "stopped" || status === "running").toBe(true);
    ok(await rt(["delete", "--force", id]));
    expect(await statusOf(id)).toBeUndefined();
  }
});
