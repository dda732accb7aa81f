// Command lines that runc 1.1.5 takes and what it answers: flag values that look like
// flags, ps's own arguments, signal 0, run --keep, ps of a stopped container, device
// access strings, a paused container that was never started.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { create, currentSuite, destroy, fails, makeBundle, ok, rt, state, uniqueId, useHarness, waitStatus } from "../lib/harness";

useHarness("runc-cli");

async function running(args: string[] = ["sleep", "1000"]) {
  const { id } = await create(makeBundle({ args }));
  ok(await rt(["start", id]));
  return id;
}

/** The container's cgroup dir for a controller (v1) or its unified dir (v2), from its state file. */
function cgroupDir(root: string, id: string, controller: string): { dir: string; v2: boolean } {
  const st = JSON.parse(fs.readFileSync(path.join(root, id, "state.json"), "utf8"));
  const cg = st.cgroup;
  if (cg.version === 2) return { dir: Object.values(cg.paths)[0] as string, v2: true };
  return { dir: cg.paths[controller], v2: false };
}

function suiteRoot(): string {
  return currentSuite().root;
}

test("a negative value is a flag's value: update --cpu-quota -1, --memory-swap -1", async () => {
  const id = await running();
  try {
    ok(await rt(["update", "--cpu-period", "100000", "--cpu-quota", "20000", id]));
    const { dir, v2 } = cgroupDir(suiteRoot(), id, "cpu");
    const quota = () => fs.readFileSync(path.join(dir, v2 ? "cpu.max" : "cpu.cfs_quota_us"), "utf8").trim();
    expect(quota()).toBe(v2 ? "20000 100000" : "20000");
    ok(await rt(["update", "--cpu-quota", "-1", id]));
    expect(quota()).toBe(v2 ? "max 100000" : "-1");
    // Separate words and the single-dash spelling alike.
    ok(await rt(["update", "-memory", "64m", "-memory-swap", "-1", id]));
    ok(await rt(["update", "--memory-swap=-1", id]));
  } finally {
    await destroy(id);
  }
});

test("ps ID ARGS...: the arguments after the id are ps's own", async () => {
  const id = await running();
  try {
    const r = ok(await rt(["ps", id, "-e", "-o", "pid,stat,comm"]));
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]!.trim().split(/\s+/)).toEqual(["PID", "STAT", "COMMAND"]);
    expect(lines.slice(1).some((l) => l.trim().endsWith("sleep"))).toBe(true);
    const ex = ok(await rt(["ps", id, "-e", "-x"]));
    expect(ex.stdout.split("\n")[0]).toMatch(/PID\s+TTY\s+STAT\s+TIME\s+COMMAND/);
    // ps's flags come before the id only when they are ps's: -f json is runc's.
    expect(JSON.parse(ok(await rt(["ps", "-f", "json", id])).stdout)).toEqual([(await state(id)).pid]);
  } finally {
    await destroy(id);
  }
});

test("ps of a stopped container: runc's header and nothing else, or null as JSON", async () => {
  const { id } = await create(makeBundle({ args: ["true"] }));
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    const r = ok(await rt(["ps", id]));
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(r.stdout).toMatch(/^UID\s+PID\s+PPID/);
    expect(ok(await rt(["ps", "--format", "json", id])).stdout).toBe("null\n");
  } finally {
    await destroy(id);
  }
});

test("kill ID 0 asks whether the container runs: 0 while it does, 1 once stopped", async () => {
  const id = await running();
  try {
    ok(await rt(["kill", id, "0"]));
    expect((await state(id)).status).toBe("running");
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    expect(fails(await rt(["kill", id, "0"])).code).toBe(1);
    // --all reaches whatever is left, and nothing left is no error (kill.bats).
    ok(await rt(["kill", "--all", id, "0"]));
  } finally {
    await destroy(id);
  }
});

test("run --keep leaves the stopped container for state, ps and delete", async () => {
  const b = makeBundle({ args: ["sh", "-c", "exit 7"] });
  const id = uniqueId();
  try {
    expect((await rt(["run", "--keep", "--bundle", b.dir, id])).code).toBe(7);
    expect((await state(id)).status).toBe("stopped");
    ok(await rt(["ps", id]));
    ok(await rt(["delete", id]));
    expect(fails(await rt(["state", id])).code).toBe(1);
    // Without it, run removes the container as before.
    expect((await rt(["run", "--bundle", b.dir, id])).code).toBe(7);
    fails(await rt(["state", id]));
  } finally {
    await destroy(id);
  }
});

test("device access is read as runc reads it: any order, letters other than r, w, m ignored", async () => {
  const b = makeBundle({
    args: ["sleep", "1000"],
    patch: (c) => {
      c.linux.resources.devices = [
        { allow: false, access: "rwm" },
        { allow: true, type: "c", major: 1, minor: 11, access: "wra" },
        { allow: true, type: "c", major: 10, minor: 229, access: "mr" },
      ];
    },
  });
  const { id } = await create(b);
  try {
    const { dir, v2 } = cgroupDir(suiteRoot(), id, "devices");
    if (!v2) {
      const list = fs.readFileSync(path.join(dir, "devices.list"), "utf8").split("\n");
      expect(list).toContain("c 1:11 rw");
      expect(list).toContain("c 10:229 rm");
    }
  } finally {
    await destroy(id);
  }
  const empty = makeBundle({ patch: (c) => (c.linux.resources.devices = [{ allow: true, type: "c", major: 1, minor: 11, access: "" }]) });
  expect(fails(await rt(["create", "--bundle", empty.dir, uniqueId()])).stderr).toMatch(/access cannot be empty/);
});

test("a created container can be paused: state says so, and resume lets it be started", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["pause", id]));
    expect((await state(id)).status).toBe("paused");
    ok(await rt(["resume", id]));
    expect((await state(id)).status).toBe("created");
    ok(await rt(["start", id]));
    expect((await state(id)).status).toBe("running");
  } finally {
    await destroy(id);
  }
});
