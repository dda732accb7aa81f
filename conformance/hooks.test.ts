// config.md, "POSIX-platform Hooks", and runtime.md lifecycle steps 3-13.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  create,
  destroy,
  fails,
  makeBundle,
  must,
  nsOf,
  ok,
  rt,
  runFg,
  scratchDir,
  state,
  statusOf,
  uniqueId,
  useHarness,
  waitFor,
  waitStatus,
  type Bundle,
} from "../test/lib/harness";

useHarness("hooks");

// Records, per hook: the state it got on stdin, the order it ran in, its namespaces, its
// root, and (for hooks in the runtime namespace) what the container process looked like.
const RECORDER = `#!/bin/sh
name=$1; d=$2; rc=$3; where=$4
cat > "$d/$name.json"
echo "$name" >> "$d/order"
for n in mnt uts ipc net pid; do echo "$n=$(readlink /proc/self/ns/$n)"; done > "$d/$name.ns"
stat -L -c '%d:%i' /proc/self/root > "$d/$name.selfroot"
if [ "$where" = runtime ]; then
  pid=$(sed -n 's/.*"pid": *\\([0-9][0-9]*\\).*/\\1/p' "$d/$name.json")
  if [ -n "$pid" ] && [ -e "/proc/$pid" ]; then
    tr '\\0' ' ' < "/proc/$pid/cmdline" > "$d/$name.cmdline"
    stat -L -c '%d:%i' "/proc/$pid/root" > "$d/$name.pidroot"
  fi
fi
exit "$rc"
`;

const ALL = ["prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"] as const;
type HookName = (typeof ALL)[number];

interface HookBundle {
  b: Bundle;
  /** Host dir the hooks write to; /out inside the container. */
  dir: string;
  order(): string[];
  json(name: string): Record<string, unknown>;
  text(name: string, ext: string): string;
  ns(name: string): Record<string, string>;
}

/**
 * A bundle with a recording hook of each kind. `fail` makes the named hooks exit 3;
 * `only` restricts which kinds are configured. The startContainer hook lives only in
 * the rootfs (its path must resolve in the container namespace); the others only on the host.
 */
function hookBundle(opts: { fail?: string[]; only?: readonly string[]; program?: string; extraPoststop?: boolean } = {}) {
  const b = makeBundle();
  const dir = b.hostDir("/out");
  const hostHook = path.join(b.dir, "record-hook");
  fs.writeFileSync(hostHook, RECORDER, { mode: 0o755 });
  b.file("bin/dxt-record-hook", RECORDER, 0o755);
  const rc = (n: string) => (opts.fail?.includes(n) ? "3" : "0");
  const host = (n: string, where: string) => ({ path: hostHook, args: ["record-hook", n, dir, rc(n), where] });
  const hooks: Record<string, unknown[]> = {
    prestart: [host("prestart", "runtime")],
    createRuntime: [host("createRuntime", "runtime")],
    createContainer: [host("createContainer", "container")],
    startContainer: [
      { path: "/bin/dxt-record-hook", args: ["dxt-record-hook", "startContainer", "/out", rc("startContainer"), "container"] },
    ],
    poststart: [host("poststart", "runtime")],
    poststop: [host("poststop", "runtime"), ...(opts.extraPoststop ? [host("poststop2", "runtime")] : [])],
  };
  b.config.hooks = Object.fromEntries(Object.entries(hooks).filter(([k]) => !opts.only || opts.only.includes(k)));
  b.config.process.args = ["sh", "-c", opts.program ?? "echo program >> /out/order; sleep 1000"];
  b.write();
  const read = (f: string) => {
    try {
      return fs.readFileSync(path.join(dir, f), "utf8");
    } catch {
      return "";
    }
  };
  const hb: HookBundle = {
    b,
    dir,
    order: () => read("order").split("\n").filter(Boolean),
    json: (n) => JSON.parse(read(`${n}.json`)),
    text: (n, ext) => read(`${n}.${ext}`).trim(),
    ns: (n) => Object.fromEntries(read(`${n}.ns`).split("\n").filter(Boolean).map((l) => l.split("=") as [string, string])),
  };
  return hb;
}

function inodeOf(p: string): string {
  const st = fs.statSync(p);
  return `${st.dev}:${st.ino}`;
}

const HOST_ROOT = () => inodeOf("/");

async function fullLifecycle(h: HookBundle) {
  const { id } = await create(h.b);
  const afterCreate = h.order();
  ok(await rt(["start", id]));
  const afterStart = h.order();
  ok(await rt(["kill", id, "KILL"]));
  await waitStatus(id, "stopped");
  ok(await rt(["delete", id]));
  return { id, afterCreate, afterStart, afterDelete: h.order() };
}

must(
  "config.md",
  "Hooks MUST be called in the listed order.",
  async () => {
    const h = hookBundle();
    const { afterCreate, afterStart, afterDelete } = await fullLifecycle(h);
    expect(afterCreate).toEqual(["prestart", "createRuntime", "createContainer"]);
    expect(afterStart.filter((n) => n !== "program")).toEqual([
      "prestart",
      "createRuntime",
      "createContainer",
      "startContainer",
      "poststart",
    ]);
    expect(afterDelete.filter((n) => n !== "program")).toEqual([...ALL]);
  },
  { runcDeviates: "runc 1.1 runs poststart hooks during create, before startContainer" },
);

must(
  "config.md",
  "The state of the container MUST be passed to hooks over stdin so that they may do work appropriate to the current state of the container.",
  async () => {
    const h = hookBundle();
    const { id } = await create(h.b);
    try {
      const { pid } = await state(id);
      ok(await rt(["start", id]));
      await waitFor(() => h.order().includes("poststart"), { what: "poststart" });
      ok(await rt(["kill", id, "KILL"]));
      await waitStatus(id, "stopped");
      ok(await rt(["delete", id]));
      const bundle = fs.realpathSync(h.b.dir);
      for (const n of ALL) {
        const s = h.json(n);
        expect(s.id).toBe(id);
        expect(fs.realpathSync(String(s.bundle))).toBe(bundle);
        expect(typeof s.ociVersion).toBe("string");
        expect(["creating", "created", "running", "stopped"]).toContain(String(s.status));
      }
      // runtime.md: "For hooks executed in the runtime namespace, it is the pid as seen by the runtime."
      for (const n of ["prestart", "createRuntime", "poststart"]) expect(h.json(n).pid).toBe(pid);
      // "For hooks executed in the container namespace, it is the pid as seen by the container."
      for (const n of ["createContainer", "startContainer"]) expect(h.json(n).pid).toBe(1);
      expect(h.json("poststop").status).toBe("stopped");
    } finally {
      await destroy(id);
    }
  },
);

for (const n of ["prestart", "createRuntime"] as const) {
  must(
    "config.md",
    `The \`${n}\` hooks MUST be called as part of the \`create\` operation after the runtime environment has been created (according to the configuration in config.json) but before the \`pivot_root\` or any equivalent operation has been executed.`,
    async () => {
      const h = hookBundle({ only: [n] });
      const { id } = await create(h.b);
      try {
        expect(h.order()).toEqual([n]);
        // Namespaces already exist: the container process is in its own mount ns...
        expect(h.json(n).pid).toBe((await state(id)).pid);
        // ...but still has the host's root: pivot_root has not happened yet.
        expect(h.text(n, "pidroot")).toBe(HOST_ROOT());
        expect(h.text(n, "pidroot")).not.toBe(inodeOf(h.b.rootfs));
      } finally {
        await destroy(id);
      }
    },
  );
  must("config.md", `The \`${n}\` hooks MUST be executed in the runtime namespace.`, async () => {
    const h = hookBundle({ only: [n] });
    const { id } = await create(h.b);
    try {
      const ns = h.ns(n);
      for (const t of ["mnt", "uts", "ipc", "net", "pid"]) expect(ns[t]).toBe(nsOf("self", t));
    } finally {
      await destroy(id);
    }
  });
}

must("config.md", "The `prestart` hooks MUST be called before the `createRuntime` hooks.", async () => {
  const h = hookBundle({ only: ["prestart", "createRuntime"] });
  const { id } = await create(h.b);
  await destroy(id);
  expect(h.order()).toEqual(["prestart", "createRuntime"]);
});

must("config.md", "The `createContainer` hooks MUST be called after the `createRuntime` hooks.", async () => {
  const h = hookBundle({ only: ["createRuntime", "createContainer"] });
  const { id } = await create(h.b);
  await destroy(id);
  expect(h.order()).toEqual(["createRuntime", "createContainer"]);
});

must(
  "config.md",
  "The `createContainer` hooks MUST be called as part of the `create` operation after the runtime environment has been created (according to the configuration in config.json) but before the `pivot_root` or any equivalent operation has been executed.",
  async () => {
    const h = hookBundle({ only: ["createContainer"] });
    const { id } = await create(h.b);
    try {
      expect(h.order()).toEqual(["createContainer"]);
      // Its own root is still the host's: no pivot yet.
      expect(h.text("createContainer", "selfroot")).toBe(HOST_ROOT());
    } finally {
      await destroy(id);
    }
  },
);

must(
  "config.md",
  "The `createContainer` hooks MUST be executed in the container namespace.",
  async () => {
    const h = hookBundle({ only: ["createContainer"] });
    const { id } = await create(h.b);
    try {
      const { pid } = await state(id);
      const ns = h.ns("createContainer");
      for (const t of ["mnt", "uts", "ipc", "net", "pid"]) expect(ns[t]).toBe(nsOf(pid, t));
    } finally {
      await destroy(id);
    }
  },
);

must(
  "config.md",
  "The `startContainer` hooks MUST be called before the user-specified process is executed as part of the `start` operation.",
  async () => {
    const h = hookBundle({ only: ["startContainer"] });
    const { id } = await create(h.b);
    try {
      expect(h.order()).toEqual([]);
      ok(await rt(["start", id]));
      await waitFor(() => h.order().includes("program"), { what: "the program" });
      expect(h.order()).toEqual(["startContainer", "program"]);
    } finally {
      await destroy(id);
    }
  },
);

must(
  "config.md",
  "The `startContainer` hooks' path MUST resolve in the container namespace.",
  async () => {
    // /bin/dxt-record-hook exists only inside the rootfs.
    const h = hookBundle({ only: ["startContainer"] });
    expect(fs.existsSync("/bin/dxt-record-hook")).toBe(false);
    const { id } = await create(h.b);
    try {
      ok(await rt(["start", id]));
      await waitFor(() => h.order().includes("startContainer"), { what: "startContainer hook" });
    } finally {
      await destroy(id);
    }
  },
);

must("config.md", "The `startContainer` hooks MUST be executed in the container namespace.", async () => {
  const h = hookBundle({ only: ["startContainer"] });
  const { id } = await create(h.b);
  try {
    const { pid } = await state(id);
    const want = Object.fromEntries(["mnt", "uts", "ipc", "net", "pid"].map((t) => [t, nsOf(pid, t)]));
    ok(await rt(["start", id]));
    await waitFor(() => h.order().includes("startContainer"), { what: "startContainer hook" });
    const ns = h.ns("startContainer");
    for (const t of Object.keys(want)) expect(ns[t]).toBe(want[t]!);
    // And after pivot: its root is the container's.
    expect(h.text("startContainer", "selfroot")).toBe(inodeOf(h.b.rootfs));
  } finally {
    await destroy(id);
  }
});

must(
  "config.md",
  "The `poststart` hooks MUST be called after the user-specified process is executed but before the `start` operation returns.",
  async () => {
    const h = hookBundle({ only: ["poststart"] });
    // A program that stays what it is (a shell script may exec its last command).
    h.b.config.process.args = ["sleep", "1001"];
    h.b.write();
    const { id } = await create(h.b);
    try {
      expect(h.order()).toEqual([]);
      ok(await rt(["start", id]));
      // Already there when start returns.
      expect(h.order()).toEqual(["poststart"]);
      // The container process had already exec'd the user's program when the hook ran.
      expect(h.text("poststart", "cmdline")).toBe("sleep 1001");
    } finally {
      await destroy(id);
    }
  },
  { runcDeviates: "runc 1.1 runs poststart hooks during create, before the program is executed" },
);

must("config.md", "The `poststart` hooks MUST be executed in the runtime namespace.", async () => {
  const h = hookBundle({ only: ["poststart"] });
  const { id } = await create(h.b);
  try {
    ok(await rt(["start", id]));
    await waitFor(() => h.order().includes("poststart"), { what: "poststart" });
    const ns = h.ns("poststart");
    for (const t of ["mnt", "uts", "ipc", "net", "pid"]) expect(ns[t]).toBe(nsOf("self", t));
  } finally {
    await destroy(id);
  }
});

must(
  "config.md",
  "The `poststop` hooks MUST be called after the container is deleted but before the `delete` operation returns.",
  async () => {
    const h = hookBundle({ only: ["poststop"] });
    const { id } = await create(h.b);
    ok(await rt(["start", id]));
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    expect(h.order().filter((n) => n !== "program")).toEqual([]);
    ok(await rt(["delete", id]));
    expect(h.order().filter((n) => n !== "program")).toEqual(["poststop"]);
    expect(await statusOf(id)).toBeUndefined();
  },
);

must("config.md", "The `poststop` hooks MUST be executed in the runtime namespace.", async () => {
  const h = hookBundle({ only: ["poststop"] });
  const { id } = await create(h.b);
  ok(await rt(["delete", "--force", id]));
  const ns = h.ns("poststop");
  for (const t of ["mnt", "uts", "ipc", "net", "pid"]) expect(ns[t]).toBe(nsOf("self", t));
});

for (const n of ["prestart", "createRuntime", "createContainer"] as const) {
  must(
    "runtime.md",
    `If any \`${n}\` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.`,
    async () => {
      const h = hookBundle({ fail: [n] });
      const id = uniqueId();
      fails(await rt(["create", "--bundle", h.b.dir, id]));
      // Step 12 destroyed it; step 13 ran the poststop hooks; the program never ran.
      expect(await statusOf(id)).toBeUndefined();
      const order = h.order();
      expect(order).not.toContain("program");
      expect(order).not.toContain("startContainer");
      expect(order[order.length - 1]).toBe("poststop");
      expect(order.indexOf(n)).toBeGreaterThanOrEqual(0);
    },
  );
}

must(
  "runtime.md",
  "If any `startContainer` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.",
  async () => {
    const h = hookBundle({ fail: ["startContainer"], only: ["startContainer", "poststop"] });
    const { id } = await create(h.b);
    try {
      fails(await rt(["start", id]));
      await Bun.sleep(200);
      expect(h.order()).not.toContain("program");
      const st = await statusOf(id);
      expect(st === undefined || st === "stopped").toBe(true);
    } finally {
      await destroy(id);
    }
  },
  { runcDeviates: "runc 1.1's start exits 0 when a startContainer hook fails" },
);

must(
  "runtime.md",
  "If any `poststart` hook fails, the runtime MUST generate an error, stop the container, and continue the lifecycle at step 12.",
  async () => {
    const h = hookBundle({ fail: ["poststart"], only: ["poststart", "poststop"] });
    const { id } = await create(h.b);
    try {
      fails(await rt(["start", id]));
      const st = await statusOf(id);
      expect(st === undefined || st === "stopped").toBe(true);
    } finally {
      await destroy(id);
    }
  },
  { runcDeviates: "runc 1.1 runs poststart hooks during create, so create fails instead of start" },
);

must(
  "runtime.md",
  "If any `poststop` hook fails, the runtime MUST log a warning, but the remaining hooks and lifecycle continue as if the hook had succeeded.",
  async () => {
    const h = hookBundle({ fail: ["poststop"], only: ["poststop"], extraPoststop: true });
    const { id } = await create(h.b);
    ok(await rt(["start", id]));
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    ok(await rt(["delete", id]));
    expect(h.order().filter((n) => n !== "program")).toEqual(["poststop", "poststop2"]);
    expect(await statusOf(id)).toBeUndefined();
  },
  { runcDeviates: "runc 1.1 stops at the failing poststop hook and skips the remaining ones" },
);

must(
  "config.md",
  "**`timeout`** (int, OPTIONAL) is the number of seconds before aborting the hook.",
  async () => {
    const b = makeBundle({ args: ["true"] });
    b.config.hooks = { createRuntime: [{ path: "/bin/sleep", args: ["sleep", "60"], timeout: 1 }] };
    b.write();
    const id = uniqueId();
    const t0 = Date.now();
    fails(await rt(["create", "--bundle", b.dir, id], { timeoutMs: 20_000 }));
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(await statusOf(id)).toBeUndefined();
    // The leak checker makes sure the aborted hook is not left running.
  },
);

must(
  "config.md",
  "**`args`** (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008 `execv`'s *argv*.",
  async () => {
    const b = makeBundle({ args: ["true"] });
    const out = path.join(b.dir, "hook-out");
    b.config.hooks = {
      createRuntime: [
        {
          path: "/bin/sh",
          args: ["my-argv0", "-c", `printf '%s|' "$0" "$@" > ${out}; env > ${out}.env`, "zero", "a", "b c"],
          env: ["A=1", "B=two words"],
        },
      ],
    };
    b.write();
    const { id } = await create(b);
    await destroy(id);
    expect(fs.readFileSync(out, "utf8")).toBe("zero|a|b c|");
    // config.md: "**`env`** (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's `environ`."
    const env = fs
      .readFileSync(`${out}.env`, "utf8")
      .split("\n")
      .filter((l) => l && !/^(PWD|SHLVL|_|OLDPWD)=/.test(l))
      .sort();
    expect(env).toEqual(["A=1", "B=two words"]);
  },
);

// Not the spec's words but runc's behaviour, which engines and hook authors rely on:
// each kind of hook starts in a known directory. A createContainer hook that writes a
// relative path must write into the container's root, never into the host's cwd.
test("hooks start where runc starts them: createContainer in the rootfs, startContainer in process.cwd, the runtime's own in the bundle (run)", async () => {
  const b = makeBundle({ args: ["true"] });
  const out = b.hostDir("/out");
  b.config.process.cwd = "/out";
  const rec = (name: string, dir: string) => ({
    path: "/bin/sh",
    args: ["sh", "-c", `pwd > ${dir}/${name}.cwd`],
  });
  b.config.hooks = {
    prestart: [rec("prestart", out)],
    createRuntime: [rec("createRuntime", out)],
    createContainer: [rec("createContainer", out)],
    startContainer: [rec("startContainer", "/out")],
    poststart: [rec("poststart", out)],
    poststop: [rec("poststop", out)],
  };
  b.write();
  ok(await runFg(b, { cwd: scratchDir("caller") }));
  const cwd = (n: string) => fs.readFileSync(path.join(out, `${n}.cwd`), "utf8").trim();
  expect(cwd("createContainer")).toBe(fs.realpathSync(b.rootfs));
  expect(cwd("startContainer")).toBe("/out");
  for (const n of ["prestart", "createRuntime", "poststart", "poststop"]) expect(cwd(n)).toBe(fs.realpathSync(b.dir));
});
