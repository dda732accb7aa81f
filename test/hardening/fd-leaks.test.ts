// CVE-2024-21626 class: no host fd reaches the container, the cwd is inside the rootfs,
// and a cwd through /proc/self/fd/N cannot climb out to the host.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { create, destroy, explain, makeBundle, ok, oneErrorLine, rt, scratchDir, state, uniqueId, useHarness } from "../lib/harness";

useHarness("fd-leaks");

/** Lists the shell's own fds (from a child, so the listing opens nothing in the shell). */
const LIST_FDS = "ls -l /proc/$$/fd";

function fdNumbers(out: string): number[] {
  return out
    .split("\n")
    .map((l) => / (\d+) -> /.exec(l))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/** Host fds of several kinds, opened without O_CLOEXEC so the runtime inherits them. */
function hostFds(): { fds: number[]; close(): void } {
  const dir = scratchDir("hostfds");
  const file = path.join(dir, "secret");
  fs.writeFileSync(file, "host secret\n");
  const fds = [fs.openSync(file, "r"), fs.openSync(dir, "r"), fs.openSync("/", "r"), fs.openSync("/proc", "r")];
  return {
    fds,
    close: () => fds.forEach((fd) => fs.closeSync(fd)),
  };
}

test("host fds handed to the runtime do not reach the container (run)", async () => {
  const h = hostFds();
  try {
    const b = makeBundle({ args: ["sh", "-c", LIST_FDS] });
    const r = ok(await rt(["run", "--bundle", b.dir, uniqueId()], { extraFds: h.fds }));
    expect(fdNumbers(r.stdout)).toEqual([0, 1, 2]);
    expect(r.stdout).not.toContain("secret");
  } finally {
    h.close();
  }
});

test("host fds do not reach the container (create + start), nor the waiting init", async () => {
  const h = hostFds();
  try {
    const b = makeBundle({ args: ["sh", "-c", `${LIST_FDS}; sleep 100`] });
    const { id, out } = await create(b, uniqueId(), { extraFds: h.fds });
    try {
      const st = await state(id);
      // The stub waiting in `created` holds only its own fds: nothing of the runtime's caller.
      const key = (p: string) => {
        const s = fs.statSync(p);
        return `${s.dev}:${s.ino}`;
      };
      const host = new Set(h.fds.map((fd) => key(`/proc/self/fd/${fd}`)));
      const held = fs.readdirSync(`/proc/${st.pid}/fd`).filter((fd) => host.has(key(`/proc/${st.pid}/fd/${fd}`)));
      expect(held).toEqual([]);
      ok(await rt(["start", id]));
      let text = "";
      for (let i = 0; i < 100 && !/ 2 -> /.test(text); i++) {
        await Bun.sleep(20);
        text = fs.readFileSync(out, "utf8");
      }
      expect(fdNumbers(text)).toEqual([0, 1, 2]);
    } finally {
      await destroy(id);
    }
  } finally {
    h.close();
  }
});

test("--preserve-fds passes exactly the fds asked for", async () => {
  const h = hostFds();
  try {
    const b = makeBundle({ args: ["sh", "-c", `${LIST_FDS}; cat <&3`] });
    const r = ok(await rt(["run", "--preserve-fds", "1", "--bundle", b.dir, uniqueId()], { extraFds: h.fds }));
    expect(fdNumbers(r.stdout)).toEqual([0, 1, 2, 3]);
    expect(r.stdout).toContain("host secret");
  } finally {
    h.close();
  }
});

test("host fds do not reach an exec'd process", async () => {
  const h = hostFds();
  const b = makeBundle({ args: ["sleep", "100"] });
  const { id } = await create(b);
  try {
    ok(await rt(["start", id]));
    const r = ok(await rt(["exec", id, "sh", "-c", LIST_FDS], { extraFds: h.fds }));
    expect(fdNumbers(r.stdout)).toEqual([0, 1, 2]);
    const p = ok(await rt(["exec", "--preserve-fds", "2", id, "sh", "-c", LIST_FDS], { extraFds: h.fds }));
    expect(fdNumbers(p.stdout)).toEqual([0, 1, 2, 3, 4]);
  } finally {
    h.close();
    await destroy(id);
  }
});

test("the container's cwd is inside its rootfs", async () => {
  for (const cwd of ["/", "/tmp", "/home/user"]) {
    const b = makeBundle({ args: ["sleep", "100"], patch: (c) => (c.process.cwd = cwd) });
    const { id } = await create(b);
    try {
      const pid = (await state(id)).pid;
      ok(await rt(["start", id]));
      // Same inode as the dir in the rootfs: readlink alone reads relative to the container root.
      const want = fs.statSync(path.join(b.rootfs, cwd));
      const got = fs.statSync(`/proc/${pid}/cwd`);
      expect(`${got.dev}:${got.ino}`).toBe(`${want.dev}:${want.ino}`);
    } finally {
      await destroy(id);
    }
  }
});

/**
 * The container prints the dev:ino of its "/" and of where 40 ".." from its cwd lead.
 * From inside the rootfs that is "/" again; from a host dir it is the host's root.
 */
const CLIMB = `r=$(stat -c %d:%i /); u=$(stat -c %d:%i ${"../".repeat(40)}); echo "ROOT $r UP $u"`;

test("a cwd through /proc/self/fd/N or /proc/PID/cwd cannot reach the host", async () => {
  const host = fs.statSync("/");
  const hostRoot = `${host.dev}:${host.ino}`;
  const cwds = [
    ...Array.from({ length: 14 }, (_, i) => `/proc/self/fd/${i + 3}`),
    "/proc/self/cwd",
    "/proc/1/cwd",
    "/proc/self/root/..",
    "/proc/thread-self/fd/5",
  ];
  const h = hostFds();
  const outcomes: string[] = [];
  try {
    for (const cwd of cwds) {
      const b = makeBundle({ args: ["sh", "-c", CLIMB], patch: (c) => (c.process.cwd = cwd) });
      const r = await rt(["run", "--bundle", b.dir, uniqueId()], { extraFds: h.fds, timeoutMs: 20_000 });
      if (r.code !== 0) {
        // Failing is fine, if it is a clear one-line error.
        const line = oneErrorLine(r);
        expect(line).not.toMatch(/undefined|\bat .*\.ts:/);
        outcomes.push(`${cwd}: refused (${line})`);
        continue;
      }
      const m = /ROOT (\S+) UP (\S+)/.exec(r.stdout);
      if (!m) throw new Error(`no output for cwd ${cwd}: ${explain(r)}`);
      outcomes.push(`${cwd}: ran`);
      // Climbing from the cwd must end at the container's root, never the host's.
      expect({ cwd, up: m[2] }).toEqual({ cwd, up: m[1]! });
      expect({ cwd, up: m[2] }).not.toEqual({ cwd, up: hostRoot });
    }
  } finally {
    h.close();
  }
  expect(outcomes.length).toBe(cwds.length);
});

test("exec --cwd through /proc/self/fd/N cannot reach the host", async () => {
  const b = makeBundle({ args: ["sleep", "100"] });
  const { id } = await create(b);
  const h = hostFds();
  try {
    ok(await rt(["start", id]));
    let ran = 0;
    for (let n = 3; n < 12; n++) {
      const r = await rt(["exec", "--cwd", `/proc/self/fd/${n}`, id, "sh", "-c", CLIMB], { extraFds: h.fds });
      if (r.code !== 0) {
        expect(oneErrorLine(r)).not.toMatch(/undefined|\bat .*\.ts:/);
        continue;
      }
      ran++;
      const m = /ROOT (\S+) UP (\S+)/.exec(r.stdout);
      if (!m) throw new Error(`no output: ${explain(r)}`);
      expect({ n, up: m[2] }).toEqual({ n, up: m[1]! });
    }
    // The container is unharmed by the attempts.
    expect(ok(await rt(["exec", id, "echo", "alive"])).stdout.trim()).toBe("alive");
    expect(ran).toBeLessThanOrEqual(9);
  } finally {
    h.close();
    await destroy(id);
  }
});
