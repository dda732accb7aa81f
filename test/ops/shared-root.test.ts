// dockerd gives every runc-type runtime the same --root. What is not a container this
// runtime wrote is no container of its own (not listed, and an error for state, kill
// and delete), and it leaves nothing in a root but its containers, so that runc's list
// of that root works.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { currentSuite, fails, IS_RUNC, makeBundle, ok, rt, scratchDir, trackId, uniqueId, useHarness, type Config } from "../lib/harness";

useHarness("shared-root");

const RUNC = "/usr/sbin/runc";
const withRunc = !IS_RUNC && fs.existsSync(RUNC);

function runc(root: string, args: string[]) {
  // No pipes: a detached container would hold them open.
  return spawnSync(RUNC, ["--root", root, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

test.skipIf(!withRunc)("runc's containers in the same root are not dx-runtime's, and dx-runtime's are not runc's", async () => {
  const root = currentSuite().root;
  const theirs = uniqueId("runc");
  const ours = uniqueId("dx");
  const b = makeBundle({ args: ["sleep", "100"] });
  // `run -d` with stdio to /dev/null: its container keeps no pipe of ours open.
  expect(spawnSync(RUNC, ["--root", root, "run", "-d", "--bundle", b.dir, theirs], { stdio: "ignore" }).status).toBe(0);
  try {
    ok(await rt(["create", "--bundle", makeBundle({ args: ["sleep", "100"] }).dir, ours]));
    expect(ok(await rt(["list", "-q"])).stdout.split("\n").filter(Boolean)).toEqual([ours]);
    expect(JSON.parse(ok(await rt(["list", "--format", "json"])).stdout).map((c: { id: string }) => c.id)).toEqual([ours]);
    for (const args of [["state", theirs], ["kill", theirs, "KILL"], ["delete", theirs], ["delete", "--force", theirs], ["pause", theirs]]) {
      expect(fails(await rt(args)).stderr).toMatch(new RegExp(`container ${theirs} does not exist`));
    }
    // Still runc's, still running.
    expect(JSON.parse(runc(root, ["state", theirs]).stdout).status).toBe("running");
    const l = runc(root, ["list", "-q"]);
    expect(l.status).toBe(0);
    expect(l.stdout.split("\n").filter(Boolean)).toEqual([theirs]);
  } finally {
    runc(root, ["delete", "--force", theirs]);
    await rt(["delete", "--force", ours]);
  }
});

test("a state dir without a state file is no container; delete removes it", async () => {
  const id = uniqueId();
  const dir = path.join(currentSuite().root, id);
  fs.mkdirSync(dir);
  expect(fails(await rt(["state", id])).stderr).toContain("does not exist");
  expect(ok(await rt(["list", "-q"])).stdout).not.toContain(id);
  fails(await rt(["kill", id, "KILL"]));
  // runc's delete too removes what a create that died early left, and says it was no container.
  expect(fails(await rt(["delete", id])).stderr).toContain("does not exist");
  expect(fs.existsSync(dir)).toBe(false);
  fs.mkdirSync(dir);
  ok(await rt(["delete", "--force", id]));
  expect(fs.existsSync(dir)).toBe(false);
});

test.skipIf(IS_RUNC)("a state file of another runtime is an error, never a stopped container", async () => {
  const id = uniqueId();
  const dir = path.join(currentSuite().root, id);
  fs.mkdirSync(dir);
  // What runc writes, in outline.
  fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify({ id, init_process_pid: 1, init_process_start: 1, created: new Date().toISOString(), config: {} }));
  try {
    expect(fails(await rt(["state", id])).stderr).toContain(`container ${id} does not exist`);
    expect(ok(await rt(["list", "-q"])).stdout).not.toContain(id);
    fails(await rt(["delete", "--force", id]));
    expect(fs.existsSync(path.join(dir, "state.json"))).toBe(true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function seccompPatch(c: Config): void {
  c.linux.seccomp = JSON.parse(fs.readFileSync(path.join(import.meta.dir, "../seccomp/fixtures/docker-like.json"), "utf8"));
}

test("after its containers are gone a root is empty, and runc lists it", async () => {
  const root = path.join(scratchDir("emptyroot"), "root");
  const on = (args: string[]) => rt(["--root", root, ...args], { noRoot: true });
  ok(await on(["run", "--bundle", makeBundle({ args: ["true"], patch: seccompPatch }).dir, uniqueId()]));
  const id = uniqueId();
  ok(await on(["create", "--bundle", makeBundle({ args: ["true"], patch: seccompPatch }).dir, id]));
  ok(await on(["delete", "--force", id]));
  expect(fs.readdirSync(root)).toEqual([]);
  if (fs.existsSync(RUNC) && !IS_RUNC) {
    const l = runc(root, ["list"]);
    expect({ status: l.status, stderr: l.stderr }).toEqual({ status: 0, stderr: "" });
  }
});

test("an id may start with a dot, as with runc; '.' and '..' may not", async () => {
  const id = `.${uniqueId()}`;
  trackId(id);
  ok(await rt(["create", "--bundle", makeBundle({ args: ["true"] }).dir, id]));
  try {
    expect(ok(await rt(["list", "-q"])).stdout.split("\n")).toContain(id);
    expect(JSON.parse(ok(await rt(["state", id])).stdout).status).toBe("created");
  } finally {
    ok(await rt(["delete", "--force", id]));
  }
  for (const bad of [".", ".."]) fails(await rt(["create", "--bundle", makeBundle({ args: ["true"] }).dir, bad]));
});
