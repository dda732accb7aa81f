// --console-socket with process.terminal: the pty master goes to the engine over
// SCM_RIGHTS; the container's stdio is the pty's slave.
import { expect, test } from "bun:test";
import {
  consoleReceiver,
  create,
  destroy,
  fails,
  makeBundle,
  must,
  ok,
  rt,
  statusOf,
  uniqueId,
  useHarness,
  waitStatus,
  type Config,
} from "../lib/harness";

useHarness("console");

function ttyBundle(script: string, patch?: (c: Config) => void) {
  return makeBundle({
    args: ["sh", "-c", script],
    patch: (c) => {
      c.process.terminal = true;
      patch?.(c);
    },
  });
}

test("create --console-socket hands over a pty that is the container's stdio", async () => {
  const con = await consoleReceiver();
  try {
    const b = ttyBundle("for f in 0 1 2; do [ -t $f ] && echo tty$f; done; tty; echo done");
    const { id } = await create(b, uniqueId(), { args: ["--console-socket", con.socket] });
    try {
      await con.received();
      ok(await rt(["start", id]));
      const { output } = await con.done();
      expect(output).toContain("tty0\ntty1\ntty2\n");
      expect(output).toMatch(/\/dev\/pts\/\d+\n/);
      expect(output).toContain("done\n");
      await waitStatus(id, "stopped");
    } finally {
      await destroy(id);
    }
  } finally {
    await con.stop();
  }
});

test("run --detach --console-socket", async () => {
  const con = await consoleReceiver();
  try {
    const b = ttyBundle("echo detached-tty");
    const id = uniqueId();
    ok(await rt(["run", "--detach", "--console-socket", con.socket, "--bundle", b.dir, id]));
    try {
      const { output } = await con.done();
      expect(output).toContain("detached-tty\n");
      await waitStatus(id, "stopped");
    } finally {
      await destroy(id);
    }
  } finally {
    await con.stop();
  }
});

test("input typed into the pty master reaches the container", async () => {
  const con = await consoleReceiver({ send: "hello-input\n" });
  try {
    const b = ttyBundle("read line; echo got-$line");
    const { id } = await create(b, uniqueId(), { args: ["--console-socket", con.socket] });
    try {
      ok(await rt(["start", id]));
      const { output } = await con.done();
      expect(output).toContain("got-hello-input\n");
    } finally {
      await destroy(id);
    }
  } finally {
    await con.stop();
  }
});

must(
  "config-linux.md",
  "`/dev/console` is set up if `terminal` is enabled in the config by bind mounting the pseudoterminal pty to `/dev/console`.",
  async () => {
    const con = await consoleReceiver();
    try {
      const b = ttyBundle("echo console=$(stat -c %t:%T /dev/console) tty=$(stat -c %t:%T $(tty))");
      const { id } = await create(b, uniqueId(), { args: ["--console-socket", con.socket] });
      try {
        ok(await rt(["start", id]));
        const { output } = await con.done();
        const m = output.match(/console=(\S+) tty=(\S+)/);
        expect(m).not.toBeNull();
        expect(m![1]).toBe(m![2]!);
        // Major 136 (0x88) is the devpts range.
        expect(parseInt(m![1]!.split(":")[0]!, 16)).toBe(136);
      } finally {
        await destroy(id);
      }
    } finally {
      await con.stop();
    }
  },
);

must(
  "config.md",
  "**`consoleSize`** (object, OPTIONAL) specifies the console size in characters of the terminal.",
  async () => {
    const con = await consoleReceiver();
    try {
      const b = ttyBundle("stty size", (c) => (c.process.consoleSize = { height: 33, width: 111 }));
      const { id } = await create(b, uniqueId(), { args: ["--console-socket", con.socket] });
      try {
        ok(await rt(["start", id]));
        const { output } = await con.done();
        expect(output.trim()).toBe("33 111");
      } finally {
        await destroy(id);
      }
    } finally {
      await con.stop();
    }
  },
);

test("terminal without --console-socket on create is refused", async () => {
  const b = ttyBundle("true");
  const id = uniqueId();
  fails(await rt(["create", "--bundle", b.dir, id]));
  expect(await statusOf(id)).toBeUndefined();
});

test("--console-socket without process.terminal is refused", async () => {
  const con = await consoleReceiver();
  try {
    const b = makeBundle({ args: ["true"] });
    const id = uniqueId();
    fails(await rt(["create", "--console-socket", con.socket, "--bundle", b.dir, id]));
    expect(await statusOf(id)).toBeUndefined();
  } finally {
    await con.stop();
  }
});

test("a console socket nobody listens on fails create cleanly", async () => {
  const b = ttyBundle("true");
  const id = uniqueId();
  fails(await rt(["create", "--console-socket", `${b.dir}/no-such.sock`, "--bundle", b.dir, id]));
  expect(await statusOf(id)).toBeUndefined();
});
