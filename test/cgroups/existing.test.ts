// A container put into a cgroup that already exists, as runc 1.1 treats it: a frozen one
// is refused at once (its init would freeze on joining, and the command hang); one that
// already holds processes is shared, with a warning, and the container's delete (or a
// failed create) leaves the other processes alone.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cgroupVersion } from "../../src/cgroups";
import { v1Hierarchies } from "../../src/cgroups/mounts";
import { destroy, fails, makeBundle, ok, rt, state, statusOf, uniqueId, useHarness, waitFor } from "../lib/harness";

useHarness("cgroup-existing");

const ROOT = "/sys/fs/cgroup";
const V2 = cgroupVersion() === 2;

/** The directory of cgroupsPath `rel` in the hierarchy of `controller` (v2: the one). */
function dirOf(controller: string, rel: string): string {
  if (V2) return path.join(ROOT, rel);
  const h = v1Hierarchies(ROOT).get(controller);
  if (!h) throw new Error(`no ${controller} hierarchy`);
  return path.join(h.mountpoint, rel);
}

const alive = (pid: number) => fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"));

function bundleIn(rel: string, patch?: (c: any) => void) {
  return makeBundle({
    args: ["sleep", "1000"],
    patch: (c) => {
      c.linux.cgroupsPath = rel;
      patch?.(c);
    },
  });
}

/** The test's cgroup in every hierarchy, removed whatever the runtime left. */
async function removeCgroup(rel: string): Promise<void> {
  const dirs = V2 ? [path.join(ROOT, rel)] : [...v1Hierarchies(ROOT).values()].map((h) => path.join(h.mountpoint, rel));
  for (const d of dirs) {
    try {
      fs.rmdirSync(d);
    } catch {}
  }
}

test("run -d and create fail fast in a frozen cgroup, and leave it as it was", async () => {
  const rel = `/${uniqueId("frozen")}`;
  const dir = dirOf("freezer", rel);
  fs.mkdirSync(dir, { recursive: true });
  try {
    fs.writeFileSync(path.join(dir, V2 ? "cgroup.freeze" : "freezer.state"), V2 ? "1" : "FROZEN");
    const b = bundleIn(rel);
    for (const cmd of [["run", "-d"], ["create"]]) {
      const id = uniqueId();
      const r = fails(await rt([...cmd, "--bundle", b.dir, id], { timeoutMs: 20_000 }));
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("container's cgroup unexpectedly frozen");
      expect(await statusOf(id)).toBeUndefined();
      // Not the runtime's to thaw or remove: it was there before.
      expect(fs.readFileSync(path.join(dir, V2 ? "cgroup.freeze" : "freezer.state"), "utf8").trim()).toBe(V2 ? "1" : "FROZEN");
    }
  } finally {
    try {
      fs.writeFileSync(path.join(dir, V2 ? "cgroup.freeze" : "freezer.state"), V2 ? "0" : "THAWED");
    } catch {}
    await removeCgroup(rel);
  }
});

test("a non-empty cgroup is shared with a warning; deleting either container leaves the other running", async () => {
  const rel = `/${uniqueId("shared")}`;
  const b = bundleIn(rel);
  const [a, second, third] = [uniqueId("a"), uniqueId("b"), uniqueId("c")];
  try {
    ok(await rt(["run", "-d", "--bundle", b.dir, a]));
    const pidA = (await state(a)).pid;

    const r = ok(await rt(["run", "-d", "--bundle", b.dir, second]));
    expect(r.stderr).toContain("container's cgroup is not empty: 1 process(es) found");
    const pidB = (await state(second)).pid;
    const c = ok(await rt(["create", "--bundle", b.dir, third]));
    expect(c.stderr).toContain("container's cgroup is not empty: 2 process(es) found");
    const procs = () => fs.readFileSync(path.join(dirOf("devices", rel), "cgroup.procs"), "utf8").trim().split("\n").map(Number);
    expect(procs()).toEqual(expect.arrayContaining([pidA, pidB]));

    // The last one in goes first: the others' processes stay, and so does the cgroup.
    ok(await rt(["delete", "--force", third]));
    ok(await rt(["delete", "--force", second]));
    expect(alive(pidB)).toBe(false);
    expect(alive(pidA)).toBe(true);
    expect(await statusOf(a)).toBe("running");
    expect(fs.existsSync(dirOf("devices", rel))).toBe(true);

    // The first one in: it did not know it would share, and still kills only its own.
    ok(await rt(["run", "-d", "--bundle", b.dir, second]));
    const pidB2 = (await state(second)).pid;
    ok(await rt(["delete", "--force", a]));
    expect(alive(pidA)).toBe(false);
    expect(alive(pidB2)).toBe(true);
    expect(await statusOf(second)).toBe("running");

    // The last container out takes the cgroup with it.
    ok(await rt(["delete", "--force", second]));
    await waitFor(() => !fs.existsSync(dirOf("devices", rel)), { timeoutMs: 5000, what: "the shared cgroup to go" });
  } finally {
    for (const id of [third, second, a]) await destroy(id);
    await removeCgroup(rel);
  }
});

test("a create that fails in a shared cgroup kills only what it started", async () => {
  const rel = `/${uniqueId("undo")}`;
  const a = uniqueId("a");
  try {
    ok(await rt(["run", "-d", "--bundle", bundleIn(rel).dir, a]));
    const pidA = (await state(a)).pid;
    const failing = bundleIn(rel, (c) => (c.hooks = { createRuntime: [{ path: "/bin/false" }] }));
    const id = uniqueId("b");
    fails(await rt(["run", "-d", "--bundle", failing.dir, id]));
    expect(await statusOf(id)).toBeUndefined();
    expect(alive(pidA)).toBe(true);
    expect(await statusOf(a)).toBe("running");
    expect(fs.readFileSync(path.join(dirOf("devices", rel), "cgroup.procs"), "utf8").trim()).toBe(String(pidA));
  } finally {
    await destroy(a);
    await removeCgroup(rel);
  }
});
