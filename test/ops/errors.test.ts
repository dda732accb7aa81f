// Bad input: a non-zero exit, one clear line on stderr, and nothing left behind
// (the leak checker runs after every test).
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  create,
  destroy,
  makeBundle,
  ok,
  oneErrorLine,
  rt,
  state,
  statusOf,
  uniqueId,
  useHarness,
  waitStatus,
  type Bundle,
} from "../lib/harness";

useHarness("errors");

async function createFails(b: Bundle, pattern?: RegExp): Promise<string> {
  const id = uniqueId();
  const line = oneErrorLine(await rt(["create", "--bundle", b.dir, id]));
  if (pattern) expect(line).toMatch(pattern);
  expect(await statusOf(id)).toBeUndefined();
  return line;
}

test("config.json that is not JSON", async () => {
  await createFails(makeBundle({ rawConfig: '{ "ociVersion": "1.0.2", "process": ' }), /json|parse|unexpected|invalid/i);
});

test("config.json missing", async () => {
  const b = makeBundle({ args: ["true"] });
  fs.rmSync(path.join(b.dir, "config.json"));
  await createFails(b, /config\.json/);
});

test("config.json of the wrong shape", async () => {
  await createFails(makeBundle({ patch: (c) => (c.process.args = "sh -c true") }));
  await createFails(makeBundle({ patch: (c) => (c.process.user.uid = "root") }));
  await createFails(makeBundle({ patch: (c) => (c.mounts = { destination: "/x" }) }));
});

test("config.json that is JSON but not an object", async () => {
  await createFails(makeBundle({ rawConfig: "[1, 2, 3]" }));
});

test("rootfs missing", async () => {
  await createFails(makeBundle({ args: ["true"], noRootfs: true }), /rootfs|no such file|not exist/i);
});

test("bundle dir missing", async () => {
  const b = makeBundle({ args: ["true"] });
  const id = uniqueId();
  oneErrorLine(await rt(["create", "--bundle", path.join(b.dir, "nope"), id]));
  expect(await statusOf(id)).toBeUndefined();
});

test("a program that does not exist", async () => {
  const b = makeBundle({ args: ["/bin/dxt-not-here"] });
  const id = uniqueId();
  const c = await rt(["create", "--bundle", b.dir, id]);
  // Either create looks the program up and refuses, or start fails to exec it.
  if (c.code === 0) {
    try {
      const s = await rt(["start", id]);
      if (s.code === 0) await waitStatus(id, "stopped");
      else oneErrorLine(s);
    } finally {
      await destroy(id);
    }
  } else {
    expect(oneErrorLine(c)).toMatch(/dxt-not-here/);
    expect(await statusOf(id)).toBeUndefined();
  }
});

test("create with an id that is taken", async () => {
  const b = makeBundle({ args: ["sleep", "1000"] });
  const { id } = await create(b);
  try {
    const pid = (await state(id)).pid;
    const line = oneErrorLine(await rt(["create", "--bundle", b.dir, id]));
    expect(line).toMatch(/exist|in use|taken|duplicate/i);
    expect((await state(id)).pid).toBe(pid);
  } finally {
    await destroy(id);
  }
});

for (const op of [["state"], ["start"], ["kill", "KILL"], ["delete"]]) {
  test(`${op[0]} of an unknown id`, async () => {
    const id = uniqueId();
    const line = oneErrorLine(await rt([op[0]!, id, ...op.slice(1)]));
    expect(line).toMatch(/not exist|no such|not found|unknown/i);
  });
}

test("delete of a running container without --force", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["start", id]));
    const line = oneErrorLine(await rt(["delete", id]));
    expect(line).toMatch(/running|not stopped|force/i);
    expect((await state(id)).status).toBe("running");
  } finally {
    await destroy(id);
  }
});

test("start of a running container", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    ok(await rt(["start", id]));
    oneErrorLine(await rt(["start", id]));
    expect((await state(id)).status).toBe("running");
  } finally {
    await destroy(id);
  }
});

test("start of a stopped container", async () => {
  const { id } = await create(makeBundle({ args: ["true"] }));
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    oneErrorLine(await rt(["start", id]));
    expect(await statusOf(id)).toBe("stopped");
  } finally {
    await destroy(id);
  }
});

test("kill of a stopped container", async () => {
  const { id } = await create(makeBundle({ args: ["true"] }));
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    oneErrorLine(await rt(["kill", id, "KILL"]));
  } finally {
    await destroy(id);
  }
});

test("an invalid container id", async () => {
  const b = makeBundle({ args: ["true"] });
  for (const bad of ["../x", "a/b", "has space", ""]) {
    oneErrorLine(await rt(["create", "--bundle", b.dir, bad]));
  }
});

test("missing arguments", async () => {
  for (const args of [["create"], ["start"], ["state"], ["kill"], ["delete"], ["state", "a", "b"]]) {
    oneErrorLine(await rt(args));
  }
});

test("a mount that cannot be made fails create and undoes everything", async () => {
  await createFails(
    makeBundle({
      args: ["true"],
      patch: (c) => c.mounts.push({ destination: "/x", type: "dxt-no-such-fs", source: "none" }),
    }),
    /mount|dxt-no-such-fs|no such device/i,
  );
});

test("a mount that fails while the runtime is still busy after the clone is reported as itself", async () => {
  // Without hooks or a user namespace the init mounts before it waits for the runtime's
  // GO, so it can fail and be gone before GO is sent: then the kernel reports the unread
  // GO to the runtime as a reset, ahead of the init's report. Parallel creates on two
  // cores make the runtime the slow side often enough.
  const b = makeBundle({
    args: ["true"],
    patch: (c) => c.mounts.push({ destination: "/x", type: "dxt-no-such-fs", source: "none" }),
  });
  const ids = Array.from({ length: 16 }, () => uniqueId());
  const results = await Promise.all(ids.map((id) => rt(["create", "--bundle", b.dir, id])));
  for (const r of results) expect(oneErrorLine(r)).toMatch(/mount none to \/x: no such device/);
  for (const id of ids) expect(await statusOf(id)).toBeUndefined();
});

test("run reports a startContainer hook that fails, and removes the container", async () => {
  const b = makeBundle({
    args: ["true"],
    patch: (c) => (c.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "echo dxt-hook-says-no; exit 3"] }] }),
  });
  const id = uniqueId();
  const line = oneErrorLine(await rt(["run", "--bundle", b.dir, id]));
  expect(line).toMatch(/startContainer/);
  expect(line).toMatch(/dxt-hook-says-no|exit status 3|status 3/);
  expect(await statusOf(id)).toBeUndefined();
});

test("a bind mount whose source is missing", async () => {
  await createFails(
    makeBundle({
      args: ["true"],
      patch: (c) => c.mounts.push({ destination: "/x", type: "bind", source: "/dxt/no/such/source", options: ["bind"] }),
    }),
    /dxt\/no\/such\/source|no such file/i,
  );
});

test("joining a namespace path that does not exist", async () => {
  await createFails(
    makeBundle({
      args: ["true"],
      patch: (c) => {
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "network");
        c.linux.namespaces.push({ type: "network", path: "/proc/999999999/ns/net" });
      },
    }),
  );
});
