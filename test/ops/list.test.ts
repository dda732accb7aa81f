// `list`: the table, --format json, -q.
import { expect, test } from "bun:test";
import fs from "node:fs";
import { create, destroy, makeBundle, ok, rt, uniqueId, useHarness, waitStatus } from "../lib/harness";

useHarness("list");

const COLUMNS = ["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"];

test("an empty root lists only the header", async () => {
  const r = ok(await rt(["list"]));
  const lines = r.stdout.split("\n").filter(Boolean);
  expect(lines.length).toBe(1);
  expect(lines[0]!.trim().split(/\s+/)).toEqual(COLUMNS);
});

test("an empty root as JSON is an empty list", async () => {
  const r = ok(await rt(["list", "--format", "json"]));
  // runc prints null here; an empty array means the same to every consumer.
  expect([null, []]).toContainEqual(JSON.parse(r.stdout));
});

test("the table shows each container's id, pid, status, bundle, created and owner", async () => {
  const a = makeBundle({ args: ["sleep", "1000"] });
  const b = makeBundle({ args: ["true"] });
  const ca = await create(a, uniqueId("a"));
  const cb = await create(b, uniqueId("b"));
  try {
    ok(await rt(["start", cb.id]));
    await waitStatus(cb.id, "stopped");
    const r = ok(await rt(["list"]));
    const lines = r.stdout.split("\n").filter(Boolean);
    expect(lines[0]!.trim().split(/\s+/)).toEqual(COLUMNS);
    const row = (id: string) => lines.find((l) => l.startsWith(id + " "))!.trim().split(/\s+/);
    const ra = row(ca.id);
    expect(ra[1]).toMatch(/^[1-9]\d*$/);
    expect(ra.slice(2, 4)).toEqual(["created", fs.realpathSync(a.dir)]);
    expect(Date.parse(ra[4]!)).not.toBeNaN();
    expect(ra[5]).toBe("root");
    const rb = row(cb.id);
    expect(rb[1]).toBe("0");
    expect(rb.slice(2, 4)).toEqual(["stopped", fs.realpathSync(b.dir)]);
    // Columns line up: every row starts its fields where the header does.
    const starts = (l: string) => [...l.matchAll(/\S+/g)].map((m) => m.index);
    expect(starts(lines[1]!)).toEqual(starts(lines[0]!));
  } finally {
    await destroy(ca.id);
    await destroy(cb.id);
  }
});

test("--format json carries the state of each container", async () => {
  const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => (c.annotations = { "org.example.k": "v" }) });
  const { id } = await create(b);
  try {
    ok(await rt(["start", id]));
    const list = JSON.parse(ok(await rt(["list", "--format", "json"])).stdout);
    expect(Array.isArray(list)).toBe(true);
    expect(list.length).toBe(1);
    const c = list[0];
    expect(c).toMatchObject({ id, status: "running", bundle: fs.realpathSync(b.dir), owner: "root" });
    expect(c.pid).toBeGreaterThan(0);
    expect(typeof c.ociVersion).toBe("string");
    expect(Date.parse(c.created)).not.toBeNaN();
  } finally {
    await destroy(id);
  }
});

test("-f json is short for --format json", async () => {
  const { id } = await create(makeBundle({ args: ["true"] }));
  try {
    const list = JSON.parse(ok(await rt(["list", "-f", "json"])).stdout);
    expect(list.map((c: { id: string }) => c.id)).toEqual([id]);
  } finally {
    await destroy(id);
  }
});

test("-q prints only the ids", async () => {
  const a = await create(makeBundle({ args: ["true"] }));
  const b = await create(makeBundle({ args: ["true"] }));
  try {
    const ids = ok(await rt(["list", "-q"])).stdout.split("\n").filter(Boolean).sort();
    expect(ids).toEqual([a.id, b.id].sort());
  } finally {
    await destroy(a.id);
    await destroy(b.id);
  }
});
