// exec --cgroup runs the process in an existing sub-cgroup of the container's, as runc's
// does: `path` for every hierarchy (on v2 the only one), `ctrl[,ctrl]:path` for some.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { cgroupVersion } from "../../src/cgroups";
import { currentSuite, destroy, fails, ioPath, makeBundle, ok, rt, state, uniqueId, useHarness } from "../lib/harness";

useHarness("cgroup-exec-sub");

const V2 = cgroupVersion() === 2;

/** controller ("" on v2) → the cgroup path of `pid` in that hierarchy. */
function cgroupsOf(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n")) {
    const [, names, rel] = line.match(/^\d+:([^:]*):(.*)$/) ?? [];
    if (names === undefined) continue;
    for (const n of names === "" ? [""] : names.split(",")) out.set(n, rel!);
  }
  return out;
}

/** The container's cgroup directories, from its state, by hierarchy key. */
function recordedPaths(root: string, id: string): Record<string, string> {
  return JSON.parse(fs.readFileSync(path.join(root, id, "state.json"), "utf8")).cgroup.paths;
}

/** Runs `sleep` in the container with the flags, and gives its cgroups as the host sees them. */
async function execSleep(id: string, flags: string[]): Promise<Map<string, string>> {
  const pidFile = ioPath("exec.pid");
  ok(await rt(["exec", "-d", "--pid-file", pidFile, ...flags, id, "sleep", "1000"]));
  const pid = Number(fs.readFileSync(pidFile, "utf8"));
  try {
    return cgroupsOf(pid);
  } finally {
    process.kill(pid, 9);
  }
}

test("exec --cgroup: refuses a path out of the container's cgroup, a missing one and an unknown controller", async () => {
  const id = uniqueId();
  ok(await rt(["run", "-d", "--bundle", makeBundle({ args: ["sleep", "1000"] }).dir, id]));
  try {
    const up = fails(await rt(["exec", "--cgroup", "..", id, "true"]));
    expect(up.stderr).toContain(".. is not a sub cgroup path");
    const missing = fails(await rt(["exec", "--cgroup", "nonexistent", id, "true"]));
    expect(missing.stderr).toMatch(/error adding pid \d+ to cgroups: open \S+\/nonexistent\/cgroup\.procs: no such file or directory/);
    if (!V2) {
      const one = fails(await rt(["exec", "--cgroup", "cpu:nonexistent", id, "true"]));
      expect(one.stderr).toMatch(/adding pid \d+ to cgroups: open \S+\/nonexistent\/cgroup\.procs: no such file/);
    }
    const unknown = fails(await rt(["exec", "--cgroup", "whaaat:/", id, "true"]));
    expect(unknown.stderr).toContain("unknown controller whaaat");
    const bare = fails(await rt(["exec", "--cgroup", "a", "--cgroup", "memory:b", id, "true"]));
    expect(bare.stderr).toContain("invalid --cgroup argument: a (missing <controller>: prefix)");
    // None of them left a process behind.
    const { pid } = await state(id);
    const top = recordedPaths(currentSuite().root, id);
    const procs = fs.readFileSync(path.join(V2 ? top[""]! : top.devices!, "cgroup.procs"), "utf8").trim();
    expect(procs).toBe(String(pid));
  } finally {
    await destroy(id);
  }
});

test("exec --cgroup: joins the named sub-cgroups, and `/` is the container's own", async () => {
  const id = uniqueId();
  ok(await rt(["run", "-d", "--bundle", makeBundle({ args: ["sleep", "1000"] }).dir, id]));
  try {
    const paths = recordedPaths(currentSuite().root, id);
    const { pid } = await state(id);
    const own = cgroupsOf(pid);
    expect(await execSleep(id, ["--cgroup", "/"])).toEqual(own);

    if (V2) {
      fs.mkdirSync(path.join(paths[""]!, "sub"));
      const got = await execSleep(id, ["--cgroup", "sub"]);
      expect(got.get("")).toBe(`${own.get("")}/sub`);
      return;
    }
    for (const [ctrl, name] of [["memory", "submem"], ["cpu", "subcpu"], ["cpuacct", "subcpu"]] as const) fs.mkdirSync(path.join(paths[ctrl]!, name));
    const got = await execSleep(id, ["--cgroup", "memory:submem", "--cgroup", "cpu,cpuacct:subcpu"]);
    for (const [key, rel] of own) {
      const want = key === "memory" ? `${rel}/submem` : key === "cpu" || key === "cpuacct" ? `${rel}/subcpu` : rel;
      expect(`${key}:${got.get(key)}`).toBe(`${key}:${want}`);
    }
    // One path alone is the same sub-cgroup in every hierarchy, where it has to exist.
    for (const [key, dir] of Object.entries(paths)) {
      const sub = path.join(dir, "everywhere");
      fs.mkdirSync(sub, { recursive: true });
      // A new v1 cpuset takes no task until it has cpus and mems.
      if (key === "cpuset") for (const f of ["cpuset.cpus", "cpuset.mems"]) fs.writeFileSync(path.join(sub, f), fs.readFileSync(path.join(dir, f)));
    }
    const all = await execSleep(id, ["--cgroup", "everywhere"]);
    for (const [key, rel] of own) expect(`${key}:${all.get(key)}`).toBe(`${key}:${rel}/everywhere`);
  } finally {
    // delete takes the sub-cgroups with the container's own.
    await destroy(id);
  }
});
