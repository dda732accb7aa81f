// Many runtimes at once on one --root: distinct ids all succeed, one id has exactly one
// winner, and delete/kill/start racing on a container neither corrupt nor leak anything.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { currentSuite, explain, makeBundle, ok, rt, state, statusOf, uniqueId, useHarness, type RtResult } from "../lib/harness";

useHarness("concurrency", { timeoutMs: 180_000 });

/** No runtime may crash: every failure is one line, no stack, no "undefined". */
function cleanFailure(r: RtResult): string {
  expect(r.timedOut).toBe(false);
  const lines = r.stderr.split("\n").filter((l) => l.trim());
  if (r.code === 0) return "";
  if (lines.length !== 1 || /undefined|\bat .*\.(ts|js):|TypeError|RangeError/.test(r.stderr)) {
    throw new Error(`unclean failure: ${explain(r)}`);
  }
  return lines[0]!;
}

test("50 parallel creates with distinct ids all succeed, then 50 parallel deletes", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const ids = Array.from({ length: 50 }, () => uniqueId());
  const results = await Promise.all(ids.map((id) => rt(["create", "--bundle", b.dir, id], { timeoutMs: 120_000 })));
  const failed = results.filter((r) => r.code !== 0);
  try {
    expect(failed.map(explain)).toEqual([]);
    const list = ok(await rt(["list", "-q"])).stdout.split("\n").filter(Boolean);
    for (const id of ids) expect(list).toContain(id);
    const pids = new Set<number>();
    for (const id of ids.slice(0, 10)) {
      const st = await state(id);
      expect(st.status).toBe("created");
      pids.add(st.pid);
    }
    expect(pids.size).toBe(10);
  } finally {
    const del = await Promise.all(ids.map((id) => rt(["delete", "--force", id], { timeoutMs: 120_000 })));
    expect(del.filter((r) => r.code !== 0).map(explain)).toEqual([]);
  }
  for (const id of ids) expect(fs.existsSync(path.join(currentSuite().root, id))).toBe(false);
});

test("parallel creates on one rootfs all make the same missing mountpoints", async () => {
  // Each init makes the missing directories of its mount targets in the shared rootfs;
  // one that loses the race to make a directory must take the winner's as found.
  for (let round = 0; round < 6; round++) {
    const b = makeBundle({
      args: ["sleep", "100"],
      patch: (c) => {
        for (let m = 0; m < 6; m++) c.mounts.push({ destination: `/dxt-race${round}/a/b/m${m}`, type: "tmpfs", source: "tmpfs" });
      },
    });
    const ids = Array.from({ length: 20 }, () => uniqueId());
    const results = await Promise.all(ids.map((id) => rt(["create", "--bundle", b.dir, id], { timeoutMs: 120_000 })));
    try {
      expect(results.filter((r) => r.code !== 0).map(explain)).toEqual([]);
    } finally {
      await Promise.all(ids.map((id) => rt(["delete", "--force", id], { timeoutMs: 120_000 })));
    }
  }
});

test("20 parallel creates with the same id: exactly one wins, the rest say it already exists", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const id = uniqueId();
  const results = await Promise.all(Array.from({ length: 20 }, () => rt(["create", "--bundle", b.dir, id], { timeoutMs: 120_000 })));
  try {
    const wins = results.filter((r) => r.code === 0);
    expect(wins.length).toBe(1);
    for (const r of results.filter((r) => r.code !== 0)) expect(cleanFailure(r)).toMatch(/already exists/);
    // The winner's state is whole and true.
    const st = await state(id);
    expect(st.status).toBe("created");
    expect(st.id).toBe(id);
    const files = fs.readdirSync(path.join(currentSuite().root, id)).sort();
    expect(files.filter((f) => f.startsWith(".state.json."))).toEqual([]);
    ok(await rt(["start", id]));
    expect(await statusOf(id)).toBe("running");
  } finally {
    ok(await rt(["delete", "--force", id]));
  }
});

test("concurrent kill and delete --force on one running container are safe", async () => {
  for (let round = 0; round < 5; round++) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    ok(await rt(["run", "-d", "--bundle", b.dir, id]));
    const ops = [
      ...Array.from({ length: 4 }, () => ["kill", id, "KILL"]),
      ...Array.from({ length: 4 }, () => ["delete", "--force", id]),
      ["kill", "--all", id, "TERM"],
      ["state", id],
    ];
    const results = await Promise.all(ops.map((a) => rt(a, { timeoutMs: 60_000 })));
    for (const r of results) {
      const line = cleanFailure(r);
      if (line) expect(line).toMatch(/does not exist|not running|is gone|stopped/);
    }
    // At least one delete went through, and the container is gone for good.
    expect(results.slice(4, 8).some((r) => r.code === 0)).toBe(true);
    expect(await statusOf(id)).toBeUndefined();
  }
});

test("concurrent start, kill, delete and state on a created container are safe", async () => {
  for (let round = 0; round < 5; round++) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    ok(await rt(["create", "--bundle", b.dir, id]));
    const ops = [["start", id], ["start", id], ["kill", id, "KILL"], ["state", id], ["delete", id], ["delete", "--force", id], ["state", id]];
    const results = await Promise.all(ops.map((a) => rt(a, { timeoutMs: 60_000 })));
    for (const r of results) cleanFailure(r);
    // Whatever the interleaving, a second delete --force leaves nothing.
    ok(await rt(["delete", "--force", id]));
    expect(await statusOf(id)).toBeUndefined();
  }
});

test("starts racing on one created container: one runs it, the others say so and none hangs", async () => {
  for (let round = 0; round < 8; round++) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    ok(await rt(["create", "--bundle", b.dir, id]));
    // Staggered, so that some open the fifo only after the init has gone through it.
    const starts = [0, 1, 2].map(async (k) => {
      await Bun.sleep(k * round);
      return rt(["start", id], { timeoutMs: 20_000 });
    });
    const results = await Promise.all(starts);
    for (const r of results) {
      expect(r.timedOut).toBe(false);
      cleanFailure(r);
    }
    expect(results.filter((r) => r.code === 0).length).toBe(1);
    for (const r of results.filter((x) => x.code !== 0)) expect(r.stderr).toContain("already running");
    expect((await state(id)).status).toBe("running");
    ok(await rt(["delete", "--force", id]));
  }
});

test("delete --force racing a create of the same id leaves either a whole container or nothing", async () => {
  for (let round = 0; round < 8; round++) {
    const b = makeBundle({ args: ["sleep", "100"] });
    const id = uniqueId();
    const creating = rt(["create", "--bundle", b.dir, id], { timeoutMs: 60_000 });
    await Bun.sleep(round * 15);
    const deleting = rt(["delete", "--force", id], { timeoutMs: 60_000 });
    const [c, d] = await Promise.all([creating, deleting]);
    cleanFailure(c);
    cleanFailure(d);
    const status = await statusOf(id);
    // Created and not deleted (the delete came first and found nothing), or gone.
    if (status !== undefined) {
      expect(c.code).toBe(0);
      expect(status).toBe("created");
    }
    ok(await rt(["delete", "--force", id]));
    expect(await statusOf(id)).toBeUndefined();
  }
});
