// `kill`: signal names with and without SIG, numbers, the SIGTERM default, --all.
import { expect, test } from "bun:test";
import fs from "node:fs";
import {
  create,
  destroy,
  dropNamespace,
  fails,
  makeBundle,
  ok,
  readFile,
  rt,
  sameFile,
  state,
  useHarness,
  waitFor,
  waitStatus,
} from "../lib/harness";

useHarness("kill");

/** A container that reports each signal it traps on stdout and keeps running. */
async function trapper() {
  const traps = ["USR1", "USR2", "HUP", "TERM", "INT"].map((s) => `trap 'echo got-${s}' ${s}`).join("; ");
  const b = makeBundle({ args: ["sh", "-c", `${traps}; echo ready; while :; do sleep 0.05; done`] });
  const c = await create(b);
  ok(await rt(["start", c.id]));
  await waitFor(() => readFile(c.out).includes("ready"), { what: "traps to be installed" });
  return {
    ...c,
    async expectGot(sig: string) {
      await waitFor(() => readFile(c.out).includes(`got-${sig}`), { what: `the container to get ${sig}` });
    },
  };
}

test("signal names without SIG, with SIG, and numbers", async () => {
  const t = await trapper();
  try {
    ok(await rt(["kill", t.id, "USR1"]));
    await t.expectGot("USR1");
    ok(await rt(["kill", t.id, "SIGUSR2"]));
    await t.expectGot("USR2");
    ok(await rt(["kill", t.id, "1"]));
    await t.expectGot("HUP");
    ok(await rt(["kill", t.id, "2"]));
    await t.expectGot("INT");
    expect((await state(t.id)).status).toBe("running");
  } finally {
    await destroy(t.id);
  }
});

test("the default signal is SIGTERM", async () => {
  const t = await trapper();
  try {
    ok(await rt(["kill", t.id]));
    await t.expectGot("TERM");
  } finally {
    await destroy(t.id);
  }
});

test("lower-case signal names are accepted", async () => {
  const t = await trapper();
  try {
    ok(await rt(["kill", t.id, "sigusr1"]));
    await t.expectGot("USR1");
  } finally {
    await destroy(t.id);
  }
});

test("KILL, SIGKILL and 9 all stop the container", async () => {
  for (const sig of ["KILL", "SIGKILL", "9"]) {
    const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
    try {
      ok(await rt(["start", id]));
      ok(await rt(["kill", id, sig]));
      await waitStatus(id, "stopped");
    } finally {
      await destroy(id);
    }
  }
});

test("an unknown signal is refused and the container is untouched", async () => {
  const t = await trapper();
  try {
    const before = await state(t.id);
    for (const bad of ["SIGBOGUS", "BOGUS", "999", "-1"]) fails(await rt(["kill", t.id, bad]));
    const after = await state(t.id);
    expect(after.status).toBe("running");
    expect(after.pid).toBe(before.pid);
  } finally {
    await destroy(t.id);
  }
});

test("--all signals every process of the container, not just its init", async () => {
  // Without a pid namespace the children don't die with init: only --all reaches them.
  const b = makeBundle({
    args: ["sh", "-c", "sleep 1000 & sleep 1000 & echo started; wait"],
    patch: (c) => dropNamespace(c, "pid"),
  });
  const { id, out } = await create(b);
  try {
    ok(await rt(["start", id]));
    await waitFor(() => readFile(out).includes("started"), { what: "children to start" });
    const inContainer = () =>
      fs
        .readdirSync("/proc")
        .filter((p) => /^\d+$/.test(p))
        .filter((p) => sameFile(`/proc/${p}/root`, b.rootfs) && !readFile(`/proc/${p}/stat`).includes(") Z "));
    await waitFor(() => inContainer().length >= 3, { what: "three processes in the container" });
    ok(await rt(["kill", "--all", id, "KILL"]));
    await waitFor(() => inContainer().length === 0, { what: "every container process to die" });
    await waitStatus(id, "stopped");
  } finally {
    await destroy(id);
  }
});

test("-a is short for --all", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["start", id]));
    ok(await rt(["kill", "-a", id, "KILL"]));
    await waitStatus(id, "stopped");
  } finally {
    await destroy(id);
  }
});
