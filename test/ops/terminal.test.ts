// A foreground terminal without a console socket: the runtime relays the pty itself.
// What the process wrote must all come out, even when it exits at once; the pty belongs
// to the process's user (gid from devpts, "tty" in the default config), as with runc.
import { expect, test } from "bun:test";
import { create, destroy, makeBundle, ok, rt, uniqueId, useHarness, type Config } from "../lib/harness";

useHarness("terminal");

const withTerminal = (args: string[], patch?: (c: Config) => void) =>
  makeBundle({
    args,
    patch: (c) => {
      c.process.terminal = true;
      patch?.(c);
    },
  });

test("run with a terminal: a process that exits at once still prints, every time", async () => {
  const b = withTerminal(["echo", "hello"]);
  for (let i = 0; i < 20; i++) {
    const r = ok(await rt(["run", "--bundle", b.dir, uniqueId()]));
    // "\n" as written: like runc, the runtime's relay does not turn it into "\r\n".
    expect(r.stdout).toBe("hello\n");
  }
});

test("run with a terminal: the pty is the process user's, with devpts's tty group", async () => {
  const b = withTerminal(["sh", "-c", "stat -c %u:%g $(tty)"], (c) => (c.process.user = { uid: 1000, gid: 100 }));
  expect(ok(await rt(["run", "--bundle", b.dir, uniqueId()])).stdout).toBe("1000:5\n");
  const root = withTerminal(["sh", "-c", "stat -c %u:%g $(tty)"]);
  expect(ok(await rt(["run", "--bundle", root.dir, uniqueId()])).stdout).toBe("0:5\n");
});

test("exec -t: quick processes print, and the pty is the exec'd user's", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["start", id]));
    for (let i = 0; i < 20; i++) {
      const r = ok(await rt(["exec", "-t", id, "echo", `hello-${i}`]));
      expect(r.stdout).toBe(`hello-${i}\n`);
    }
    const own = ok(await rt(["exec", "-t", "--user", "1000:100", id, "sh", "-c", "stat -c %u:%g $(tty)"]));
    expect(own.stdout).toBe("1000:5\n");
  } finally {
    await destroy(id);
  }
});

test("exec -t returns when its process exits, though a process it left still holds the pty", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["start", id]));
    const t0 = Date.now();
    const r = ok(await rt(["exec", "-t", id, "sh", "-c", "sleep 20 & echo left"], { timeoutMs: 15_000 }));
    expect(r.stdout).toBe("left\n");
    expect(Date.now() - t0).toBeLessThan(5_000);
  } finally {
    await destroy(id);
  }
});
