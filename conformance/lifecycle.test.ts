// runtime.md, "Lifecycle", "Errors" and "Operations" (create, start, kill, delete).
import { expect } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  create,
  destroy,
  fails,
  makeBundle,
  must,
  ok,
  readFile,
  rt,
  state,
  statusOf,
  uniqueId,
  useHarness,
  waitFor,
  waitStatus,
  cgroupLeaksFor,
} from "../test/lib/harness";

useHarness("lifecycle");

/** A container whose program leaves a mark in a host dir, so we can see whether it ran. */
function marker(extra = "sleep 1000") {
  const b = makeBundle();
  const host = b.hostDir("/out");
  b.config.process.args = ["sh", "-c", `echo ran > /out/ran; ${extra}`];
  b.write();
  return { b, ran: () => fs.existsSync(path.join(host, "ran")) };
}

must(
  "runtime.md",
  "While the resources requested in the `config.json` MUST be created, the user-specified program (from `process`) MUST NOT be run at this time.",
  async () => {
    const { b, ran } = marker();
    const { id } = await create(b);
    try {
      await Bun.sleep(300);
      expect(ran()).toBe(false);
      expect((await state(id)).status).toBe("created");
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "`process.args` MUST NOT be applied until triggered by the `start` operation.",
  async () => {
    const { b, ran } = marker();
    const { id } = await create(b);
    try {
      expect(ran()).toBe(false);
      ok(await rt(["start", id]));
      await waitFor(ran, { what: "the program to run after start" });
    } finally {
      await destroy(id);
    }
  },
);

must("runtime.md", "This operation MUST run the user-specified program as specified by `process`.", async () => {
  const b = makeBundle({ args: ["sh", "-c", "echo started-$0-$1 ; exit 0", "x", "y"] });
  const { id, out } = await create(b);
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    expect(readFile(out)).toContain("started-x-y");
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "Any updates to `config.json` after this step MUST NOT affect the container.",
  async () => {
    const b = makeBundle({ args: ["sh", "-c", "echo original"] });
    const { id, out } = await create(b);
    try {
      b.config.process.args = ["sh", "-c", "echo changed"];
      b.config.hostname = "changed";
      b.write();
      ok(await rt(["start", id]));
      await waitStatus(id, "stopped");
      expect(readFile(out)).toContain("original");
      expect(readFile(out)).not.toContain("changed");
    } finally {
      await destroy(id);
    }
  },
);

must("runtime.md", "This operation MUST create a new container.", async () => {
  const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
  try {
    const s = await state(id);
    expect(s.status).toBe("created");
    const list = JSON.parse(ok(await rt(["list", "--format", "json"])).stdout) as { id: string }[];
    expect(list.map((c) => c.id)).toContain(id);
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "This operation MUST generate an error if it is not provided a path to the bundle and the container ID to associate with the container.",
  async () => {
    const b = makeBundle({ args: ["true"] });
    // No id at all.
    fails(await rt(["create", "--bundle", b.dir]));
    // No bundle: the runtime's cwd (the suite dir) holds no config.json.
    const id = uniqueId();
    fails(await rt(["create", id]));
    expect(await statusOf(id)).toBeUndefined();
  },
);

must(
  "runtime.md",
  "If the ID provided is not unique across all containers within the scope of the runtime, or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.",
  async () => {
    const first = makeBundle({ args: ["sleep", "1000"] });
    const { id } = await create(first);
    try {
      const before = await state(id);
      const second = makeBundle({ args: ["sleep", "1000"] });
      fails(await rt(["create", "--bundle", second.dir, id]));
      const after = await state(id);
      // The existing container is untouched: same process, same bundle.
      expect(after.pid).toBe(before.pid);
      expect(after.bundle).toBe(before.bundle);
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "If the ID provided is not unique across all containers within the scope of the runtime, or is not valid in any other way, the implementation MUST generate an error and a new container MUST NOT be created.",
  async () => {
    const b = makeBundle({ args: ["true"] });
    for (const bad of ["../escape", "a/b", ".", ".."]) {
      fails(await rt(["create", "--bundle", b.dir, bad]));
    }
    expect(JSON.parse(ok(await rt(["list", "--format", "json"])).stdout) ?? []).toEqual([]);
  },
  { title: "invalid ids" },
);

must(
  "runtime.md",
  "If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.",
  async () => {
    const b = makeBundle({
      args: ["true"],
      patch: (c) => c.mounts.push({ destination: "/nope", type: "no-such-filesystem", source: "none" }),
    });
    const id = uniqueId();
    fails(await rt(["create", "--bundle", b.dir, id]));
    expect(await statusOf(id)).toBeUndefined();
  },
);

must(
  "runtime.md",
  "Unless otherwise stated, generating an error MUST leave the state of the environment as if the operation were never attempted - modulo any possible trivial ancillary changes such as logging.",
  async () => {
    // Fails late (after namespaces, cgroups and most mounts exist): all of it must be undone.
    const b = makeBundle({
      args: ["true"],
      patch: (c) => c.mounts.push({ destination: "/late", type: "no-such-filesystem", source: "none" }),
    });
    const id = uniqueId();
    fails(await rt(["create", "--bundle", b.dir, id]));
    expect(await statusOf(id)).toBeUndefined();
    expect(cgroupLeaksFor(id)).toEqual([]);
    // The same id is free again.
    b.config.mounts.pop();
    b.write();
    const again = await create(b, id);
    await destroy(again.id);
  },
);

must(
  "runtime.md",
  "This operation MUST generate an error if it is not provided the container ID.",
  async () => {
    for (const op of ["start", "delete", "kill"]) fails(await rt([op]));
  },
  { title: "start, kill and delete without an id" },
);

must(
  "runtime.md",
  "Attempting to `start` a container that is not `created` MUST have no effect on the container and MUST generate an error.",
  async () => {
    const { b, ran } = marker("sleep 1000");
    const { id } = await create(b);
    try {
      ok(await rt(["start", id]));
      const running = await state(id);
      expect(running.status).toBe("running");
      fails(await rt(["start", id]));
      const after = await state(id);
      expect(after.status).toBe("running");
      expect(after.pid).toBe(running.pid);
      expect(ran()).toBe(true);
    } finally {
      await destroy(id);
    }
  },
  { title: "start of a running container" },
);

must(
  "runtime.md",
  "Attempting to `start` a container that is not `created` MUST have no effect on the container and MUST generate an error.",
  async () => {
    const b = makeBundle({ args: ["sh", "-c", "echo once"] });
    const { id, out } = await create(b);
    try {
      ok(await rt(["start", id]));
      await waitStatus(id, "stopped");
      fails(await rt(["start", id]));
      expect(await statusOf(id)).toBe("stopped");
      await Bun.sleep(100);
      expect(readFile(out).match(/once/g)?.length).toBe(1);
    } finally {
      await destroy(id);
    }
  },
  { title: "start of a stopped container" },
);

must(
  "runtime.md",
  "Attempting to `start` a container that is not `created` MUST have no effect on the container and MUST generate an error.",
  async () => {
    fails(await rt(["start", uniqueId()]));
  },
  { title: "start of an unknown container" },
);

must("runtime.md", "This operation MUST generate an error if `process` was not set.", async () => {
  // Whether create refuses such a config or start does, the program must never run.
  const b = makeBundle({ patch: (c) => delete c.process });
  const id = uniqueId();
  const r = await rt(["create", "--bundle", b.dir, id]);
  if (r.code === 0) {
    try {
      fails(await rt(["start", id]));
    } finally {
      await destroy(id);
    }
  } else {
    fails(r);
    expect(await statusOf(id)).toBeUndefined();
  }
});

must("runtime.md", "This operation MUST send the specified signal to the container process.", async () => {
  const b = makeBundle({
    args: ["sh", "-c", "trap 'echo got-USR1; exit 7' USR1; echo ready; while :; do sleep 0.05; done"],
  });
  const { id, out } = await create(b);
  try {
    ok(await rt(["start", id]));
    await waitFor(() => readFile(out).includes("ready"), { what: "trap installed" });
    ok(await rt(["kill", id, "USR1"]));
    await waitStatus(id, "stopped");
    expect(readFile(out)).toContain("got-USR1");
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "This operation MUST send the specified signal to the container process.",
  async () => {
    const b = makeBundle({ args: ["sleep", "1000"] });
    const { id } = await create(b);
    try {
      const { pid } = await state(id);
      ok(await rt(["kill", id, "KILL"]));
      await waitFor(() => !fs.existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFile(`/proc/${pid}/status`)), {
        what: "created container's process to die",
      });
      await waitStatus(id, "stopped");
    } finally {
      await destroy(id);
    }
  },
  { title: "kill of a created container" },
);

must(
  "runtime.md",
  "Attempting to send a signal to a container that is neither `created` nor `running` MUST have no effect on the container and MUST generate an error.",
  async () => {
    const { id } = await create(makeBundle({ args: ["true"] }));
    try {
      ok(await rt(["start", id]));
      await waitStatus(id, "stopped");
      fails(await rt(["kill", id, "KILL"]));
      expect(await statusOf(id)).toBe("stopped");
    } finally {
      await destroy(id);
    }
  },
  { title: "kill of a stopped container" },
);

must(
  "runtime.md",
  "Attempting to send a signal to a container that is neither `created` nor `running` MUST have no effect on the container and MUST generate an error.",
  async () => {
    fails(await rt(["kill", uniqueId(), "KILL"]));
  },
  { title: "kill of an unknown container" },
);

must(
  "runtime.md",
  "Attempting to `delete` a container that is not `stopped` MUST have no effect on the container and MUST generate an error.",
  async () => {
    const { id } = await create(makeBundle({ args: ["sleep", "1000"] }));
    try {
      ok(await rt(["start", id]));
      const before = await state(id);
      fails(await rt(["delete", id]));
      const after = await state(id);
      expect(after.status).toBe("running");
      expect(after.pid).toBe(before.pid);
    } finally {
      await destroy(id);
    }
  },
  { title: "delete of a running container" },
);

// runc (and so every engine) deletes a `created` container on plain `delete`, killing it
// first; containerd's cleanup of a failed start relies on that. We follow runc there, so
// the MUST above is only checked for running containers; test/ops/delete.test.ts covers
// the created case.

must(
  "runtime.md",
  "Deleting a container MUST delete the resources that were created during the `create` step.",
  async () => {
    const { id } = await create(makeBundle({ args: ["true"] }));
    const { pid } = await state(id);
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    ok(await rt(["delete", id]));
    expect(await statusOf(id)).toBeUndefined();
    expect(fs.existsSync(`/proc/${pid}/stat`) && !/\) Z /.test(readFile(`/proc/${pid}/stat`))).toBe(false);
    expect(cgroupLeaksFor(id)).toEqual([]);
  },
);

must(
  "runtime.md",
  "Note that resources associated with the container, but not created by this container, MUST NOT be deleted.",
  async () => {
    const b = makeBundle({ args: ["sh", "-c", "echo hi > /out/file"] });
    const host = b.hostDir("/out");
    fs.writeFileSync(path.join(host, "pre-existing"), "keep me");
    const { id } = await create(b);
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
    ok(await rt(["delete", id]));
    expect(fs.readFileSync(path.join(host, "pre-existing"), "utf8")).toBe("keep me");
    expect(fs.readFileSync(path.join(host, "file"), "utf8")).toBe("hi\n");
    expect(fs.existsSync(path.join(b.rootfs, "bin/busybox"))).toBe(true);
    expect(fs.existsSync(path.join(b.dir, "config.json"))).toBe(true);
  },
);

must("runtime.md", "Once a container is deleted its ID MAY be used by a subsequent container.", async () => {
  const b = makeBundle({ args: ["true"] });
  const { id } = await create(b);
  ok(await rt(["delete", "--force", id]));
  const again = await create(b, id);
  expect((await state(again.id)).status).toBe("created");
  await destroy(id);
});

must(
  "runtime.md",
  "The container MUST be destroyed by undoing the steps performed during create phase (step 2).",
  async () => {
    // The container's process tree dies with it, including children it forked.
    const b = makeBundle({ args: ["sh", "-c", "sleep 1000 & sleep 1000 & wait"] });
    const { id } = await create(b);
    ok(await rt(["start", id]));
    await Bun.sleep(200);
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    ok(await rt(["delete", id]));
    // The leak checker verifies no process, mount, cgroup or state remains.
  },
);
