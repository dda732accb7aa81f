// The stub joins the container's cgroups itself before it clones the init (CGROUP_JOIN in
// native/PROTOCOL.md): v1 hierarchies through `tasks`, the cgroup2 one by cloning into it.
// What must hold afterwards is what moving the init in from the runtime gave: the init,
// and nothing else (the stub that joined first must not stay behind), in every hierarchy.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cgroupRoots, create, destroy, makeBundle, ok, rt, runFg, state, uniqueId, useHarness, waitFor, waitStatus } from "../lib/harness";

useHarness("cgroup-join");

/** The container's cgroup dir in each mounted hierarchy, from the init's /proc/PID/cgroup. */
function dirsOf(pid: number): string[] {
  const roots = cgroupRoots();
  const out: string[] = [];
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
    const [, names, rel] = line.split(":") as [string, string, string];
    const root = names === ""
      ? roots.find((r) => fs.existsSync(path.join(r, "cgroup.controllers")))
      : roots.find((r) => path.basename(r).split(",").sort().join(",") === names.split(",").sort().join(","));
    if (root && fs.existsSync(path.join(root, rel))) out.push(path.join(root, rel));
  }
  return out;
}

const procsOf = (dir: string) => fs.readFileSync(path.join(dir, "cgroup.procs"), "utf8").trim().split("\n").filter(Boolean).map(Number);

test("create: every hierarchy's cgroup holds the init alone, the stub that joined first is gone", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    const { pid } = await state(id);
    const dirs = dirsOf(pid);
    // the v1 hierarchies and the hybrid cgroup2 one, all named after the container
    expect(dirs.length).toBeGreaterThan(1);
    for (const d of dirs) {
      expect(d.endsWith(`/${id}`)).toBe(true);
      expect(procsOf(d)).toEqual([pid]);
    }
  } finally {
    await destroy(id);
  }
});

test("run in the foreground: the init is in the container's cgroup in every hierarchy", async () => {
  const id = uniqueId();
  // Without a cgroup namespace the paths are the host's, so they name the container.
  const b = makeBundle({
    args: ["cat", "/proc/self/cgroup"],
    patch: (c) => (c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "cgroup")),
  });
  const r = ok(await runFg(b, { id }));
  const lines = r.stdout.trim().split("\n");
  expect(lines.length).toBeGreaterThan(1);
  for (const l of lines) expect(l.endsWith(`/${id}`)).toBe(true);
});

const ppidOf = (pid: number) => {
  const s = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
};

/** A stub that stays to wait is back in the cgroups of the runtime, its parent. */
function expectBackWithRuntime(stub: number): void {
  expect(fs.readFileSync(`/proc/${stub}/cgroup`, "utf8")).toBe(fs.readFileSync(`/proc/${ppidOf(stub)}/cgroup`, "utf8"));
}

test("run in the foreground: the stub that waits for the init goes back to the runtime's cgroups", async () => {
  const id = uniqueId();
  const running = rt(["run", "--bundle", makeBundle({ args: ["sleep", "100"] }).dir, id]);
  try {
    await waitStatus(id, "running");
    const { pid } = await state(id);
    expectBackWithRuntime(ppidOf(pid));
    const dirs = dirsOf(pid);
    expect(dirs.length).toBeGreaterThan(1);
    for (const d of dirs) {
      expect(d.endsWith(`/${id}`)).toBe(true);
      expect(procsOf(d)).toEqual([pid]);
    }
    ok(await rt(["kill", id, "KILL"]));
    await running;
  } finally {
    await destroy(id);
  }
});

test("exec: the process joins every hierarchy of the container, the stub that waits goes back", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    ok(await rt(["start", id]));
    const { pid } = await state(id);
    const dirs = dirsOf(pid);
    const running = rt(["exec", id, "sleep", "100"]);
    // The exec'd process is the container's second; nothing else may be in its cgroup
    // once it runs `sleep`. Before that the stub that joins first is there too: it goes
    // back before it reports the pid, and the process execs only after the GO that follows.
    const comm = (p: number) => {
      try {
        return fs.readFileSync(`/proc/${p}/comm`, "utf8").trim();
      } catch {
        return "";
      }
    };
    const other = await waitFor(() => procsOf(dirs[0]!).find((p) => p !== pid && comm(p) === "sleep"));
    expectBackWithRuntime(ppidOf(other));
    for (const d of dirs) expect(procsOf(d).sort()).toEqual([pid, other].sort());
    process.kill(other, "SIGKILL");
    await running;
  } finally {
    await destroy(id);
  }
});

test("exec --detach: the process joins every hierarchy of the container", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    ok(await rt(["start", id]));
    const { pid } = await state(id);
    ok(await rt(["exec", "--detach", id, "sleep", "100"]));
    const dirs = dirsOf(pid);
    const procs = procsOf(dirs[0]!);
    expect(procs.length).toBe(2);
    for (const d of dirs) expect(procsOf(d).sort()).toEqual(procs.sort());
  } finally {
    await destroy(id);
  }
});
