// --debug: what the runtime does, in the log's format and place. runc's debug.bats looks
// for three of runc's own phase names ("nsexec container setup", "child process in
// init()", "init: closing the pipe to signal completion"); dx-init says them at the
// same moments. The rest is ours: the command's phases, cgroup paths, hooks and each
// plan step dx-init runs.
import { expect, test } from "bun:test";
import fs from "node:fs";
import { create, destroy, IS_RUNC, ioPath, makeBundle, ok, rt, uniqueId, useHarness } from "../lib/harness";

useHarness("debug");

const RUNC_PHASES = ["nsexec container setup", "child process in init()", "init: closing the pipe to signal completion"];

function hello() {
  return makeBundle({
    args: ["/bin/echo", "Hello World"],
    patch: (c) => {
      c.process.env.push("DXT_SECRET=dxt-do-not-log");
      c.hooks = { prestart: [{ path: "/bin/true", args: ["true", "dxt-hook-arg"] }] };
    },
  });
}

test("--debug logs to stderr, as text: runc's phases and the hooks in any runtime", async () => {
  const r = ok(await rt(["--debug", "run", "--bundle", hello().dir, uniqueId()]));
  expect(r.stdout).toContain("Hello World");
  expect(r.stderr).toContain("level=debug");
  for (const p of RUNC_PHASES) expect(r.stderr).toContain(p);
  if (IS_RUNC) return;
  const lines = r.stderr.split("\n").filter(Boolean);
  for (const l of lines) expect(l).toMatch(/^time="[^"]+" level=(debug|info|warning) msg=".*"$/);
  // The command's phases, its cgroup, the hook and each step of the plan, in order.
  const at = (s: string) => lines.findIndex((l) => l.includes(s));
  // (dx-init starts while the runtime works out the cgroup: their first lines interleave.)
  expect(at("dx-init[")).toBeGreaterThanOrEqual(0);
  const order = ["create: cgroup v", "step CLONE", "prestart hook: running /bin/true", "step EXEC", "delete: removing"].map(at);
  expect(at("step MOUNT")).toBeGreaterThan(at("step CLONE"));
  for (const i of order) expect(i).toBeGreaterThanOrEqual(0);
  expect([...order].sort((a, b) => a - b)).toEqual(order);
  expect(r.stderr).toContain("dxt-hook-arg");
  // The environment is counted, never written out.
  expect(r.stderr).not.toContain("dxt-do-not-log");
});

test("--debug --log FILE: nothing on stderr, everything in the file", async () => {
  const log = ioPath("debug.log");
  const r = ok(await rt(["--log", log, "--log-format", "text", "--debug", "run", "--bundle", hello().dir, uniqueId()]));
  expect(r.stdout).toContain("Hello World");
  expect(r.stderr).not.toContain("level=debug");
  const text = fs.readFileSync(log, "utf8");
  expect(text).toContain("level=debug");
  for (const p of RUNC_PHASES) expect(text).toContain(p);
  if (!IS_RUNC) expect(text).toContain("step EXEC");
});

test("--debug exec: runc's phases for a process joining a container", async () => {
  const c = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    ok(await rt(["start", c.id]));
    const log = ioPath("debug-exec.log");
    ok(await rt(["--debug", "--log", log, "exec", c.id, "true"]));
    const text = fs.readFileSync(log, "utf8");
    for (const p of ["nsexec container setup", "child process in init()", "setns_init: about to exec"]) expect(text).toContain(p);
  } finally {
    await destroy(c.id);
  }
});

test("--log-format json: every line is {level, msg, time}", async () => {
  const log = ioPath("debug.json");
  ok(await rt(["--log", log, "--log-format", "json", "--debug", "run", "--bundle", hello().dir, uniqueId()]));
  const lines = fs.readFileSync(log, "utf8").split("\n").filter(Boolean);
  const msgs = lines.map((l) => {
    const o = JSON.parse(l);
    expect(typeof o.msg).toBe("string");
    expect(Date.parse(o.time)).not.toBeNaN();
    return o;
  });
  expect(msgs.some((o) => o.level === "debug")).toBe(true);
  for (const p of RUNC_PHASES) expect(msgs.some((o) => o.msg.includes(p))).toBe(true);
  if (IS_RUNC) return;
  expect(msgs.some((o) => o.level === "debug" && o.msg.startsWith("dx-init[") && o.msg.includes("step MOUNT"))).toBe(true);
});

test.skipIf(IS_RUNC)("the steps after start go to the log of the create that had --debug", async () => {
  const log = ioPath("create.log");
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  ok(await rt(["--log", log, "--debug", "create", "--bundle", b.dir, id]));
  try {
    expect(fs.readFileSync(log, "utf8")).not.toContain("step EXEC");
    ok(await rt(["start", id]));
    // The init has exec'd once start returns: its last line is written by then.
    const text = fs.readFileSync(log, "utf8");
    expect(text).toContain("start opened the exec fifo");
    expect(text).toContain("step EXEC");
  } finally {
    await destroy(id);
  }
});

test("without --debug nothing is logged, by the runtime or by dx-init", async () => {
  const log = ioPath("quiet.log");
  const { id } = await create(makeBundle({ args: ["true"] }), uniqueId(), { args: [] });
  try {
    const r = ok(await rt(["--log", log, "start", id]));
    ok(await rt(["--log", log, "state", id]));
    expect(r.stderr).toBe("");
    expect(fs.existsSync(log) ? fs.readFileSync(log, "utf8") : "").toBe("");
  } finally {
    await destroy(id);
  }
  const r = ok(await rt(["run", "--bundle", hello().dir, uniqueId()]));
  expect(r.stderr).toBe("");
});

test.skipIf(IS_RUNC)("--debug on state, kill, start and delete says what each did", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const id = uniqueId();
  ok(await rt(["create", "--bundle", b.dir, id]));
  try {
    for (const args of [["state", id], ["start", id], ["kill", id, "KILL"]]) {
      const r = ok(await rt(["--debug", ...args]));
      expect(r.stderr).toContain("level=debug");
      if (!IS_RUNC) expect(r.stderr).toContain(`${args[0]}: done`);
    }
    const r = ok(await rt(["--debug", "delete", "--force", id]));
    if (!IS_RUNC) expect(r.stderr).toContain("delete: removing");
  } finally {
    await destroy(id);
  }
});
