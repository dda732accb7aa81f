// dx-runtime run by an unprivileged user, side by side with runc: a `spec --rootless`
// bundle whose rootfs the user owns, the default state root under $XDG_RUNTIME_DIR,
// and every command of the lifecycle. On a host where no cgroup is delegated to the
// user (cgroup v1 here) the container runs without one; what needs one fails clearly.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { rootfsDir, REPO } from "../lib/rootfs";
import { canMakeUsers, makeUser, runAs, type RootlessUser } from "./user";

setDefaultTimeout(60_000);

const DX = process.env.DX_RUNTIME || path.join(REPO, "dist", "dx-runtime");
const RUNTIMES: [string, string, string][] = [
  ["dx-runtime", DX, "dx-runtime"],
  ["runc", "/usr/sbin/runc", "runc"],
];
const enabled = canMakeUsers() && fs.existsSync(DX);
let u: RootlessUser;
let seq = 0;

// As root, a machine without useradd, setpriv or newuidmap must fail here, not skip
// every rootless check in silence (.ci/run installs uidmap).
test("root can make the throwaway users the rootless checks run as", () => {
  if (process.getuid?.() !== 0) return;
  expect(canMakeUsers()).toBe(true);
  expect(fs.existsSync(DX)).toBe(true);
});

beforeAll(() => {
  if (enabled) u = makeUser("l");
});
afterAll(() => {
  if (enabled) u.remove();
});

/** A bundle from `BIN spec --rootless`, written by the user, over a copy of the busybox rootfs the user owns. */
function bundle(bin: string, patch: (c: any) => void = () => {}): string {
  const dir = path.join(u.dir, `b${++seq}`);
  fs.mkdirSync(dir);
  const cp = spawnSync("cp", ["-a", rootfsDir(), path.join(dir, "rootfs")], { encoding: "utf8" });
  if (cp.status !== 0) throw new Error(cp.stderr);
  spawnSync("chown", ["-R", `${u.uid}:${u.gid}`, dir]);
  const r = runAs(u, [bin, "spec", "--rootless"], { cwd: dir });
  if (r.code !== 0) throw new Error(`spec --rootless: ${r.stderr}`);
  const file = path.join(dir, "config.json");
  const c = JSON.parse(fs.readFileSync(file, "utf8"));
  c.process.terminal = false;
  c.process.args = ["sleep", "1000"];
  patch(c);
  fs.writeFileSync(file, JSON.stringify(c, null, 2));
  fs.chownSync(file, u.uid, u.gid);
  return dir;
}

const id = (tag: string) => `rl-${tag}-${process.pid}-${++seq}`;

for (const [label, bin, rootName] of RUNTIMES) {
  describe.skipIf(!enabled || !fs.existsSync(bin))(`rootless ${label}`, () => {
    const rt = (args: string[], cwd?: string) => runAs(u, [bin, ...args], { cwd });
    const status = (c: string) => JSON.parse(rt(["state", c]).stdout || "{}").status;

    test("the whole lifecycle under the default root in $XDG_RUNTIME_DIR", () => {
      const b = bundle(bin);
      const c = id("life");
      const created = rt(["create", c], b);
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const root = path.join(u.xdg, rootName);
      expect(fs.existsSync(path.join(root, c))).toBe(true);
      // 0700 with the sticky bit, so the session's cleanup of XDG_RUNTIME_DIR keeps it.
      expect(fs.statSync(root).mode & 0o7777).toBe(0o1700);
      expect(fs.statSync(root).uid).toBe(u.uid);
      expect(status(c)).toBe("created");
      expect(rt(["start", c]).code).toBe(0);
      expect(status(c)).toBe("running");
      const list = rt(["list"]);
      expect(list.code).toBe(0);
      expect(list.stdout).toMatch(new RegExp(`^${c}\\s+\\d+\\s+running\\s.*\\s${u.name}$`, "m"));
      const ex = rt(["exec", c, "cat", "/proc/self/uid_map"]);
      expect(ex.code).toBe(0);
      expect(ex.stdout.trim().split(/\s+/)).toEqual(["0", String(u.uid), "1"]);
      expect(rt(["exec", c, "sh", "-c", "exit 3"]).code).toBe(3);
      expect(rt(["kill", c, "KILL"]).code).toBe(0);
      for (let i = 0; i < 100 && status(c) !== "stopped"; i++) Bun.sleepSync(20);
      expect(status(c)).toBe("stopped");
      expect(rt(["delete", c]).code).toBe(0);
      expect(fs.existsSync(path.join(root, c))).toBe(false);
      expect(rt(["state", c]).code).not.toBe(0);
    });

    test("run in the foreground gives the container's exit code", () => {
      const b = bundle(bin, (cfg) => (cfg.process.args = ["sh", "-c", "test $(id -u) = 0 && exit 7"]));
      const r = rt(["run", id("run")], b);
      expect(r.code).toBe(7);
      expect(fs.readdirSync(path.join(u.xdg, rootName)).filter((n) => n.startsWith("rl-run"))).toEqual([]);
    });

    test("a new network namespace has only lo", () => {
      const b = bundle(bin, (cfg) => {
        cfg.linux.namespaces.push({ type: "network" });
        cfg.process.args = ["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"];
      });
      const r = rt(["run", id("net")], b);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("lo");
    });

    test("more ids than the user's own through newuidmap/newgidmap, and exec as another user", () => {
      const b = bundle(bin, (cfg) => {
        cfg.linux.uidMappings = [{ containerID: 0, hostID: u.uid, size: 1 }, { containerID: 1, hostID: u.sub[0], size: u.sub[1] }];
        cfg.linux.gidMappings = [{ containerID: 0, hostID: u.gid, size: 1 }, { containerID: 1, hostID: u.sub[0], size: u.sub[1] }];
      });
      const c = id("map");
      expect(rt(["run", "-d", c], b).code).toBe(0);
      try {
        const m = rt(["exec", c, "cat", "/proc/self/uid_map"]);
        expect(m.stdout.trim().split(/\s+/)).toEqual(["0", String(u.uid), "1", "1", String(u.sub[0]), String(u.sub[1])]);
        const who = rt(["exec", "--user", "1000:1000", c, "id"]);
        expect(who.code).toBe(0);
        expect(who.stdout).toContain("uid=1000");
      } finally {
        rt(["delete", "-f", c]);
      }
    });

    test("pause and update need a cgroup, which is not delegated on this host", () => {
      const b = bundle(bin);
      const c = id("cg");
      expect(rt(["run", "-d", c], b).code).toBe(0);
      try {
        if (delegated()) return;
        expect(rt(["pause", c]).code).not.toBe(0);
        expect(status(c)).toBe("running");
        expect(rt(["update", "--memory", "100M", c]).code).not.toBe(0);
      } finally {
        rt(["delete", "-f", c]);
      }
    });

    test("a memory limit without a delegated cgroup fails and leaves nothing", () => {
      if (delegated()) return;
      const b = bundle(bin, (cfg) => (cfg.linux.resources = { memory: { limit: 100 * 1024 * 1024 } }));
      const c = id("lim");
      const r = rt(["run", c], b);
      expect(r.code).not.toBe(0);
      if (label === "dx-runtime") {
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr).toContain("linux.resources.memory.limit");
        expect(r.stderr).toContain("/sys/fs/cgroup");
      }
      expect(fs.existsSync(path.join(u.xdg, rootName, c))).toBe(false);
    });

    test("--console-socket hands the pty to the engine", async () => {
      const b = bundle(bin, (cfg) => {
        cfg.process.terminal = true;
        cfg.process.args = ["sh", "-c", "tty; echo rootless-pty"];
      });
      const sock = path.join(b, "console.sock");
      const logs = path.join(b, "recv.err");
      const recv = Bun.spawn(u.argv(["python3", path.join(REPO, "test/lib/console-receiver.py"), sock, "--timeout", "20"]), {
        cwd: b,
        stdio: ["ignore", "pipe", Bun.file(logs)],
      });
      for (let i = 0; i < 200 && !fs.existsSync(sock); i++) await Bun.sleep(20);
      const c = id("tty");
      const cr = rt(["create", "--console-socket", sock, c], b);
      expect(cr.stderr).toBe("");
      expect(cr.code).toBe(0);
      expect(rt(["start", c]).code).toBe(0);
      const out = await new Response(recv.stdout).text();
      await recv.exited;
      expect(out).toContain("/dev/pts/0");
      expect(out).toContain("rootless-pty");
      for (let i = 0; i < 100 && status(c) !== "stopped"; i++) await Bun.sleep(20);
      expect(rt(["delete", c]).code).toBe(0);
    });
  });
}

/** A cgroup v2 tree with a subtree the user may write (the VM's delegated user slice). */
function delegated(): boolean {
  try {
    return fs.statfsSync("/sys/fs/cgroup").type === 0x63677270 && spawnSync("test", ["-w", "/sys/fs/cgroup/user.slice"]).status === 0;
  } catch {
    return false;
  }
}

// What dx-runtime does beyond runc 1.1.5 without a cgroup: runc's ps fails ("unable to
// get all container pids") and its sysfs mount is refused without a network namespace.
describe.skipIf(!enabled)("rootless dx-runtime without a cgroup", () => {
  const rt = (args: string[], cwd?: string) => runAs(u, [DX, ...args], { cwd });

  test("ps lists the container's processes from its pid namespace", () => {
    const b = bundle(DX, (cfg) => (cfg.process.args = ["sh", "-c", "sleep 1000 & sleep 1000 & wait"]));
    const c = id("ps");
    expect(rt(["run", "-d", c], b).code).toBe(0);
    try {
      let pids: number[] = [];
      for (let i = 0; i < 100 && pids.length < 3; i++) {
        pids = JSON.parse(rt(["ps", "--format", "json", c]).stdout || "[]");
        Bun.sleepSync(20);
      }
      expect(pids).toHaveLength(3);
      const table = rt(["ps", c]);
      expect(table.stdout.split("\n").filter((l) => l.trimEnd().endsWith("sleep 1000"))).toHaveLength(2);
      const ev = rt(["events", "--stats", c]);
      expect(ev.code).toBe(0);
      expect(JSON.parse(ev.stdout).type).toBe("stats");
    } finally {
      rt(["delete", "-f", c]);
    }
  });

  test("sysfs without a network namespace is the host's /sys bound read-only", () => {
    const b = bundle(DX, (cfg) => {
      cfg.mounts = cfg.mounts.map((m: any) => (m.destination === "/sys" ? { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] } : m));
      cfg.process.args = ["sh", "-c", "ls /sys/class >/dev/null && grep ' /sys ' /proc/self/mountinfo"];
    });
    const r = rt(["run", id("sys")], b);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ \/sys ro,nosuid,nodev,noexec/);
  });

  test("rlimits above the user's hard limit and a lower oom_score_adj are one clear line each", () => {
    const hard = Number(spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).stdout);
    const b1 = bundle(DX, (cfg) => (cfg.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: hard * 4, soft: 1024 }]));
    const r1 = rt(["run", id("rl")], b1);
    expect(r1.code).toBe(1);
    expect(r1.stderr.trim()).toBe(`dx-runtime: process.rlimits RLIMIT_NOFILE: hard limit ${hard * 4} is above this user's hard limit ${hard}, and raising it needs CAP_SYS_RESOURCE (rootless)`);
    const b2 = bundle(DX, (cfg) => (cfg.process.oomScoreAdj = -500));
    const r2 = rt(["run", id("oom")], b2);
    expect(r2.code).toBe(1);
    expect(r2.stderr.trim()).toMatch(/^dx-runtime: process.oomScoreAdj -500 is below this user's -?\d+, and lowering it needs CAP_SYS_RESOURCE \(rootless\)$/);
    expect(fs.readdirSync(path.join(u.xdg, "dx-runtime")).filter((n) => n.startsWith("rl-rl") || n.startsWith("rl-oom"))).toEqual([]);
  });

  test("--debug says the container runs without a cgroup of its own", () => {
    const b = bundle(DX, (cfg) => (cfg.process.args = ["true"]));
    const r = rt(["--debug", "run", id("dbg")], b);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("no cgroup of its own");
    const quiet = rt(["run", id("dbg")], b);
    expect(quiet.stderr).toBe("");
  });
});
