// What the runtime process itself loads on the paths engines call for every container.
// run (create + start) and exec of a process without a terminal need no FFI: loading
// koffi (its native module and libstdc++) would cost each of them 2-3 ms. And where the
// stub is started from: a copy in the runtime's cache dir (never under --root), only
// where nobody else can write.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { create, currentSuite, destroy, IS_RUNC, makeBundle, ok, rt, RUNTIME, scratchDir, uniqueId, useHarness, waitStatus } from "../lib/harness";
import { CACHE_DIR, privateCache } from "../lib/privatecache";

useHarness("footprint");

const FFI = /koffi|\.node\b|libstdc\+\+/;

/** The runtime process whose argv has `cmd` and `id`, once it exists. */
function runtimePid(cmd: string, id: string): number {
  for (const d of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
      if (argv.includes(cmd) && argv.includes(id) && !argv[0]!.includes("dx-init")) return Number(d);
    } catch {}
  }
  return 0;
}

/** Every library the process maps, sampled until it exits. */
async function mappedUntilExit(cmd: string, id: string, done: Promise<unknown>): Promise<Set<string>> {
  const seen = new Set<string>();
  let finished = false;
  done.then(() => (finished = true));
  let pid = 0;
  while (!finished) {
    pid ||= runtimePid(cmd, id);
    if (pid) {
      try {
        for (const line of fs.readFileSync(`/proc/${pid}/maps`, "utf8").split("\n")) {
          const file = line.split(/\s+/)[5];
          if (file) seen.add(file);
        }
      } catch {}
    }
    await Bun.sleep(10);
  }
  expect(pid).toBeGreaterThan(0);
  return seen;
}

test.skipIf(IS_RUNC)("run and exec without a terminal load no FFI into the runtime", async () => {
  const b = makeBundle({ args: ["sleep", "1"] });
  const id = uniqueId();
  const running = rt(["run", "--bundle", b.dir, id]);
  const runMaps = await mappedUntilExit("run", id, running);
  ok(await running);
  expect([...runMaps].filter((f) => FFI.test(f))).toEqual([]);
  // It was sampled while it ran: Bun's own executable is there.
  expect(runMaps.size).toBeGreaterThan(0);

  const { id: cid } = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    ok(await rt(["start", cid]));
    const execing = rt(["exec", cid, "sleep", "1"]);
    const execMaps = await mappedUntilExit("exec", cid, execing);
    ok(await execing);
    expect([...execMaps].filter((f) => FFI.test(f))).toEqual([]);
  } finally {
    await destroy(cid);
  }
});

/** Copies of the stub kept in a cache dir. */
function storedStubs(dir: string): string[] {
  return fs.readdirSync(dir).filter((n) => n.startsWith("dx-init-"));
}

test.skipIf(IS_RUNC)("the stub is started from a root-only copy outside --root, and runs as a sealed memfd", async () => {
  const root = path.join(scratchDir("stubroot"), "root");
  const b = makeBundle({ args: ["sleep", "100"] });
  const id = uniqueId();
  ok(await rt(["--root", root, "create", "--bundle", b.dir, id], { noRoot: true }));
  try {
    // Nothing in the root but the container: engines share roots, and runc lists them.
    expect(fs.readdirSync(root)).toEqual([id]);
    const copies = storedStubs(CACHE_DIR).filter((n) => !n.includes("."));
    expect(copies.length).toBeGreaterThan(0);
    const st = fs.statSync(path.join(CACHE_DIR, copies[0]!));
    expect(st.uid).toBe(0);
    expect(st.mode & 0o777).toBe(0o500);
    expect(fs.statSync(CACHE_DIR).mode & 0o077).toBe(0);
    const pid = JSON.parse(ok(await rt(["--root", root, "state", id], { noRoot: true })).stdout).pid;
    // What a container could reach through /proc/PID/exe is the sealed copy, not the file.
    expect(fs.readlinkSync(`/proc/${pid}/exe`)).toMatch(/^\/memfd:dx-init/);
  } finally {
    await rt(["--root", root, "delete", "--force", id], { noRoot: true });
  }
});

test.skipIf(IS_RUNC)("a copy of another version's stub is replaced by this one's", async () => {
  const cache = await privateCache("mode=700");
  try {
    fs.writeFileSync(path.join(cache.dir, "dx-init-0ldversion"), "#!/bin/false\n", { mode: 0o500 });
    const root = path.join(scratchDir("oldstub"), "root");
    const r = cache.run(["--root", root, "run", "--bundle", makeBundle({ args: ["true"] }).dir, uniqueId()]);
    expect(r).toEqual({ status: 0, stderr: "" });
    const copies = storedStubs(cache.dir);
    expect(copies.length).toBe(1);
    expect(copies[0]).not.toBe("dx-init-0ldversion");
  } finally {
    cache.close();
  }
});

test.skipIf(IS_RUNC)("a cache dir others can write to keeps no copy of the stub; a noexec one cannot run it: both still work", async () => {
  const b = makeBundle({ args: ["true"] });
  // World-writable (sticky, like /tmp): anyone could have planted a copy there.
  const open = await privateCache("mode=1777");
  try {
    const root = path.join(scratchDir("openroot"), "root");
    expect(open.run(["--root", root, "run", "--bundle", b.dir, uniqueId()])).toEqual({ status: 0, stderr: "" });
    expect(storedStubs(open.dir)).toEqual([]);
  } finally {
    open.close();
  }
  // noexec: the copy is there but cannot be exec'd, and the stub comes from a memfd.
  const noexec = await privateCache("mode=700,noexec");
  try {
    const root = path.join(scratchDir("noexecroot"), "root");
    expect(noexec.run(["--root", root, "run", "--bundle", b.dir, uniqueId()])).toEqual({ status: 0, stderr: "" });
    const id2 = uniqueId();
    expect(noexec.run(["--root", root, "create", "--bundle", makeBundle({ args: ["sleep", "100"] }).dir, id2]).status).toBe(0);
    expect(noexec.run(["--root", root, "start", id2]).status).toBe(0);
    expect(noexec.run(["--root", root, "delete", "--force", id2]).status).toBe(0);
    expect(storedStubs(noexec.dir).length).toBe(1);
  } finally {
    noexec.close();
  }
});

/** Minor page faults of one call, under `perf stat`: a count of the pages it touched. */
function faultsOf(args: string[]): number {
  const out = path.join(scratchDir("faults"), "perf.out");
  const r = spawnSync("perf", ["stat", "-x,", "-e", "minor-faults", "-o", out, "--", RUNTIME, "--root", currentSuite().root, ...args]);
  expect(r.status).toBe(0);
  return Number(fs.readFileSync(out, "utf8").split("\n").find((l) => l.includes("minor-faults"))!.split(",")[0]);
}

const hasPerf = spawnSync("perf", ["stat", "-x,", "-e", "minor-faults", "--", "/bin/true"]).status === 0;

test.skipIf(IS_RUNC || !hasPerf)("the shim's kill --all of a stopped container touches no more pages than a plain kill", async () => {
  // containerd's shim sends `kill --all ID 9` twice per StopContainer once the init has
  // exited; with nothing left in the cgroup that needs neither the cgroup drivers nor
  // minimist (~400 page faults, a third of the command).
  const { id } = await create(makeBundle({ args: ["sleep", "100"] }));
  try {
    ok(await rt(["start", id]));
    const kill = faultsOf(["kill", id, "9"]);
    await waitStatus(id, "stopped");
    const all = [faultsOf(["kill", "--all", id, "9"]), faultsOf(["kill", "--all", id, "9"])];
    expect(Math.min(...all)).toBeLessThan(kill * 1.15);
  } finally {
    await destroy(id);
  }
});

test.skipIf(IS_RUNC || !hasPerf)("the shim's delete --force of a container already deleted touches no more pages than state", async () => {
  // StopContainer follows `delete ID` with `delete --force ID`: the state dir is gone,
  // and finding that out needs neither node:fs nor the teardown code.
  const { id } = await create(makeBundle({ args: ["sleep", "100"] }));
  let state: number;
  try {
    state = faultsOf(["state", id]);
  } finally {
    await destroy(id);
  }
  const again = [faultsOf(["delete", "--force", id]), faultsOf(["delete", "--force", id])];
  expect(Math.min(...again)).toBeLessThan(state * 1.1);
});
