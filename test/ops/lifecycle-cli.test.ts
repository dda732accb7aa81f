// The lifecycle commands as runc has them: create, start, state, kill, delete, run.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  cgroupLeaksFor,
  create,
  currentSuite,
  destroy,
  fails,
  makeBundle,
  ok,
  readFile,
  rt,
  runcCompat,
  runFg,
  sameFile,
  state,
  statusOf,
  uniqueId,
  useHarness,
  waitFor,
  waitStatus,
} from "../lib/harness";

useHarness("lifecycle-cli");

test("create, state, start, kill, delete", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const id = uniqueId();
  const c = await rt(["create", "--bundle", b.dir, id]);
  ok(c);
  expect(c.stdout).toBe("");
  const s = await state(id);
  expect(s).toMatchObject({ id, status: "created" });
  ok(await rt(["start", id]));
  expect((await state(id)).status).toBe("running");
  ok(await rt(["kill", id, "KILL"]));
  await waitStatus(id, "stopped");
  ok(await rt(["delete", id]));
  fails(await rt(["state", id]));
});

test("an id of digits is kept as typed: leading zeros and all", async () => {
  // The argument parser would otherwise read "007" as the number 7.
  const b = makeBundle({ args: ["sleep", "1000"] });
  const id = `00${process.pid}${Date.now() % 100000}`;
  ok(await rt(["create", "--bundle", b.dir, id]));
  expect((await state(id)).id).toBe(id);
  fails(await rt(["state", id.replace(/^0+/, "")]));
  ok(await rt(["kill", id, "9"]));
  await waitStatus(id, "stopped");
  ok(await rt(["delete", id]));
  fails(await rt(["state", id]));
});

test("-b is short for --bundle", async () => {
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  ok(await rt(["create", "-b", b.dir, id]));
  await destroy(id);
});

test("--bundle defaults to the current directory", async () => {
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  ok(await rt(["create", id], { cwd: b.dir }));
  expect(fs.realpathSync((await state(id)).bundle)).toBe(fs.realpathSync(b.dir));
  await destroy(id);
});

test("state reports the created time as RFC 3339", async () => {
  const b = makeBundle({ args: ["true"] });
  const before = Date.now();
  const { id } = await create(b);
  try {
    const s = await state(id);
    expect(typeof s.created).toBe("string");
    const t = Date.parse(s.created);
    expect(t).toBeGreaterThanOrEqual(before - 2000);
    expect(t).toBeLessThanOrEqual(Date.now() + 2000);
  } finally {
    await destroy(id);
  }
});

test("the container inherits the runtime's stdio when there is no terminal", async () => {
  const b = makeBundle({ args: ["sh", "-c", "echo to-stdout; echo to-stderr >&2"] });
  const { id, out, err } = await create(b);
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    expect(readFile(out)).toBe("to-stdout\n");
    expect(readFile(err)).toBe("to-stderr\n");
  } finally {
    await destroy(id);
  }
});

test("the container reads the runtime's stdin", async () => {
  const b = makeBundle({ args: ["sh", "-c", "read l; echo got-$l"] });
  const r = await runFg(b, { stdin: "piped\n" });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("got-piped\n");
});

test("run: exit status of the container's process is the runtime's", async () => {
  for (const code of [0, 1, 3, 42, 255]) {
    const r = await runFg(makeBundle({ args: ["sh", "-c", `exit ${code}`] }));
    expect({ code, got: r.code }).toEqual({ code, got: code });
  }
});

test("run: a container killed by a signal exits 128+signal", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const id = uniqueId();
  const running = runFg(b, { id });
  await waitStatus(id, "running");
  ok(await rt(["kill", id, "KILL"]));
  const r = await running;
  expect(r.code).toBe(137);
});

test("run without --detach removes the container when it exits", async () => {
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  const r = await runFg(b, { id });
  expect(r.code).toBe(0);
  expect(await statusOf(id)).toBeUndefined();
});

test("run --detach returns with the container running", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const id = uniqueId();
  const t0 = Date.now();
  ok(await rt(["run", "--detach", "--bundle", b.dir, id]));
  expect(Date.now() - t0).toBeLessThan(10_000);
  try {
    expect((await state(id)).status).toBe("running");
  } finally {
    await destroy(id);
  }
});

test("run -d keeps the state after the process exits", async () => {
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  ok(await rt(["run", "-d", "--bundle", b.dir, id]));
  try {
    await waitStatus(id, "stopped");
  } finally {
    await destroy(id);
  }
});

test("--pid-file on create holds the container's pid", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const pidFile = path.join(b.dir, "container.pid");
  const { id } = await create(b, uniqueId(), { args: ["--pid-file", pidFile] });
  try {
    const txt = fs.readFileSync(pidFile, "utf8");
    expect(txt).toMatch(/^\d+\n?$/);
    const pid = Number(txt.trim());
    expect(pid).toBe((await state(id)).pid);
    expect(sameFile(`/proc/${pid}/root`, b.rootfs)).toBe(true);
  } finally {
    await destroy(id);
  }
});

test("--pid-file relative to the runtime's working directory", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const id = uniqueId();
  ok(await rt(["run", "-d", "--pid-file", "rel.pid", "--bundle", b.dir, id], { cwd: b.dir }));
  try {
    expect(Number(fs.readFileSync(path.join(b.dir, "rel.pid"), "utf8").trim())).toBe((await state(id)).pid);
  } finally {
    await destroy(id);
  }
});

test("delete --force kills and removes a running container", async () => {
  const b = makeBundle({ args: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"] });
  const { id } = await create(b);
  ok(await rt(["start", id]));
  ok(await rt(["delete", "--force", id]));
  expect(await statusOf(id)).toBeUndefined();
});

test("delete --force removes a paused container: thawed, its processes gone, its cgroup removed", async () => {
  // v1 frozen tasks take no signal until thawed: without the thaw the kill waits on
  // them, the cgroup stays busy and its directories stay behind.
  const b = makeBundle({ args: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"] });
  const { id } = await create(b);
  ok(await rt(["start", id]));
  const pid = (await state(id)).pid as number;
  ok(await rt(["pause", id]));
  expect((await state(id)).status).toBe("paused");
  expect(cgroupLeaksFor(id).length).toBeGreaterThan(0);
  ok(await rt(["delete", "--force", id]));
  expect(await statusOf(id)).toBeUndefined();
  // Gone, or a zombie waiting for its new parent to reap it.
  const dead = () => {
    try {
      return /\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
    } catch {
      return true;
    }
  };
  expect(dead()).toBe(true);
  expect(cgroupLeaksFor(id)).toEqual([]);
});

test("delete -f is short for --force", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  ok(await rt(["start", id]));
  ok(await rt(["delete", "-f", id]));
  expect(await statusOf(id)).toBeUndefined();
});

runcCompat("delete of a created container kills and removes it", async () => {
  // Deviates from runtime.md ("Attempting to `delete` a container that is not `stopped`
  // MUST ... generate an error"); engines clean up failed starts this way.
  const { b, ran } = (() => {
    const b = makeBundle({ args: ["sh", "-c", "echo ran > /out/ran"] });
    const host = b.hostDir("/out");
    return { b, ran: () => fs.existsSync(path.join(host, "ran")) };
  })();
  const { id } = await create(b);
  const { pid } = await state(id);
  ok(await rt(["delete", id]));
  expect(await statusOf(id)).toBeUndefined();
  await waitFor(() => !fs.existsSync(`/proc/${pid}/stat`) || readFile(`/proc/${pid}/stat`).includes(") Z "), {
    what: "the created container's process to go",
  });
  expect(ran()).toBe(false);
});

runcCompat("delete --force of an unknown container succeeds", async () => {
  ok(await rt(["delete", "--force", uniqueId()]));
});

test("delete of a stopped container takes sub-cgroups and whatever else its state dir holds", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  ok(await rt(["start", id]));
  const dir = path.join(currentSuite().root, id);
  const paths: Record<string, string> = JSON.parse(fs.readFileSync(path.join(dir, "state.json"), "utf8")).cgroup.paths;
  for (const p of Object.values(paths)) fs.mkdirSync(path.join(p, "sub", "deeper"), { recursive: true });
  // What a create that died between writing its temp state and renaming it leaves.
  fs.writeFileSync(path.join(dir, ".state.json.12345"), "{}");
  ok(await rt(["kill", id, "KILL"]));
  await waitStatus(id, "stopped");
  ok(await rt(["delete", id]));
  expect(fs.existsSync(dir)).toBe(false);
  for (const p of Object.values(paths)) expect(fs.existsSync(p)).toBe(false);
  expect(cgroupLeaksFor(id)).toEqual([]);
  // The second, forced delete engines send finds nothing and says nothing.
  const again = await rt(["delete", "--force", id]);
  ok(again);
  expect(again.stderr).toBe("");
});

test("delete of a stopped container leaves the bundle alone", async () => {
  const b = makeBundle({ args: ["true"] });
  const { id } = await create(b);
  ok(await rt(["start", id]));
  await waitStatus(id, "stopped");
  ok(await rt(["delete", id]));
  expect(fs.existsSync(path.join(b.dir, "config.json"))).toBe(true);
  expect(fs.existsSync(path.join(b.rootfs, "bin/busybox"))).toBe(true);
});

test("containers in different --root dirs don't see each other", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const { id } = await create(b);
  try {
    const other = path.join(b.dir, "other-root");
    const r = await rt(["--root", other, "state", id], { noRoot: true });
    fails(r);
  } finally {
    await destroy(id);
  }
});

test("two containers from one bundle run side by side", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const a = await create(b);
  const c = await create(b);
  try {
    ok(await rt(["start", a.id]));
    ok(await rt(["start", c.id]));
    const [sa, sc] = [await state(a.id), await state(c.id)];
    expect(sa.status).toBe("running");
    expect(sc.status).toBe("running");
    expect(sa.pid).not.toBe(sc.pid);
  } finally {
    await destroy(a.id);
    await destroy(c.id);
  }
});
