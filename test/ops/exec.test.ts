// `exec` with runc's flags: the new process joins the container's namespaces and cgroup
// and gets the identity, environment and confinement the flags ask for.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { consoleReceiver, create, destroy, fails, makeBundle, ok, rt, scratchDir, state, useHarness, waitFor } from "../lib/harness";

useHarness("exec");

async function running() {
  const c = await create(makeBundle({ args: ["sleep", "1000"] }));
  ok(await rt(["start", c.id]));
  return c;
}

function ns(pid: number | string, type: string): string {
  return fs.readlinkSync(`/proc/${pid}/ns/${type}`);
}

test("the process joins every namespace and the cgroup of the init, and its exit status is exec's", async () => {
  const c = await running();
  try {
    const { pid } = await state(c.id);
    const r = await rt(["exec", c.id, "sh", "-c", "for n in pid mnt net uts ipc; do readlink /proc/self/ns/$n; done; cat /proc/self/cgroup; exit 7"]);
    expect(r.code).toBe(7);
    for (const t of ["pid", "mnt", "net", "uts", "ipc"]) expect(r.stdout).toContain(ns(pid, t));
    const initCg = fs.readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n").find((l) => l.includes(":pids:"));
    expect(r.stdout).toContain(initCg!);
  } finally {
    await destroy(c.id);
  }
});

test("--user, --additional-gids, --env, --cwd", async () => {
  const c = await running();
  try {
    const r = ok(await rt(["exec", "--user", "1000:1000", "-g", "10,20", "--env", "FOO=bar", "--cwd", "/tmp", c.id, "sh", "-c", "id; echo FOO=$FOO; pwd"]));
    expect(r.stdout).toMatch(/uid=1000\b/);
    expect(r.stdout).toMatch(/gid=1000\b/);
    expect(r.stdout).toMatch(/groups=.*\b10\b.*\b20\b/);
    expect(r.stdout).toContain("FOO=bar");
    expect(r.stdout).toContain("/tmp");
  } finally {
    await destroy(c.id);
  }
});

test("--cap adds a capability; --no-new-privs sets no_new_privs", async () => {
  const c = await running();
  try {
    const plain = ok(await rt(["exec", c.id, "grep", "-E", "CapEff|NoNewPrivs", "/proc/self/status"]));
    const more = ok(await rt(["exec", "--cap", "CAP_SYS_ADMIN", "--no-new-privs", c.id, "grep", "-E", "CapEff|NoNewPrivs", "/proc/self/status"]));
    const eff = (s: string) => BigInt("0x" + /CapEff:\s*([0-9a-f]+)/.exec(s)![1]);
    expect(eff(more.stdout) & (1n << 21n)).toBe(1n << 21n);
    expect(eff(plain.stdout) & (1n << 21n)).toBe(0n);
    expect(more.stdout).toMatch(/NoNewPrivs:\s*1/);
  } finally {
    await destroy(c.id);
  }
});

test("--process FILE, --detach and --pid-file", async () => {
  const c = await running();
  const dir = scratchDir("exec");
  try {
    const proc = path.join(dir, "process.json");
    fs.writeFileSync(proc, JSON.stringify({ args: ["sleep", "300"], cwd: "/", env: ["PATH=/bin"], user: { uid: 0, gid: 0 } }));
    const pidFile = path.join(dir, "exec.pid");
    ok(await rt(["exec", "--process", proc, "--detach", "--pid-file", pidFile, c.id]));
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    expect(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8")).toContain("sleep");
    const ps = ok(await rt(["ps", "--format", "json", c.id]));
    expect(JSON.parse(ps.stdout)).toContain(pid);
  } finally {
    await destroy(c.id);
  }
});

test("exec into a stopped container, a missing command and a bad process file fail with one line", async () => {
  const c = await running();
  try {
    const missing = fails(await rt(["exec", c.id, "/no/such/binary"]));
    expect(missing.stderr.trim().split("\n").length).toBe(1);
    const dir = scratchDir("exec-bad");
    const bad = path.join(dir, "bad.json");
    fs.writeFileSync(bad, JSON.stringify({ args: "not-an-array", cwd: "/" }));
    expect(fails(await rt(["exec", "--process", bad, c.id])).stderr).toMatch(/args/);
    ok(await rt(["kill", c.id, "KILL"]));
    await waitFor(async () => (await state(c.id)).status === "stopped", { what: "the container to stop" });
    expect(fails(await rt(["exec", c.id, "true"])).stderr).toMatch(/stopped/);
  } finally {
    await destroy(c.id);
  }
});

test("--tty with --console-socket gives the process a terminal", async () => {
  const c = await running();
  const con = await consoleReceiver();
  try {
    ok(await rt(["exec", "--tty", "--console-socket", con.socket, "--detach", c.id, "sh", "-c", "tty"]));
    await con.received();
    const { output } = await con.done();
    expect(output).toMatch(/\/dev\/pts\/\d+/);
  } finally {
    await con.stop();
    await destroy(c.id);
  }
});
