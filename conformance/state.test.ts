// runtime.md, "State" and "Query State".
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
  rt,
  sameFile,
  state,
  uniqueId,
  useHarness,
  waitStatus,
  type State,
} from "../test/lib/harness";

useHarness("state");

const STATUSES = ["creating", "created", "running", "stopped"];

/** The shape schema/state-schema.json demands (draft-04, checked by hand to need no schema file). */
function expectStateSchema(s: State): void {
  expect(typeof s).toBe("object");
  for (const k of ["ociVersion", "id", "status", "bundle"]) expect(s).toHaveProperty(k);
  expect(typeof s.ociVersion).toBe("string");
  expect(typeof s.id).toBe("string");
  expect(STATUSES).toContain(s.status);
  if ("pid" in s) {
    expect(Number.isInteger(s.pid)).toBe(true);
    expect(s.pid).toBeGreaterThanOrEqual(0);
  }
  expect(typeof s.bundle).toBe("string");
  if ("annotations" in s) {
    expect(typeof s.annotations).toBe("object");
    for (const [k, v] of Object.entries(s.annotations)) {
      expect(k.length).toBeGreaterThan(0);
      expect(typeof v).toBe("string");
    }
  }
}

const sleeper = () => makeBundle({ args: ["sleep", "1000"] });

must("runtime.md", "When serialized in JSON, the format MUST adhere to the JSON Schema `schema/state-schema.json`.", async () => {
  const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => (c.annotations = { "org.example.k": "v" }) });
  const { id } = await create(b);
  try {
    expectStateSchema(await state(id));
    ok(await rt(["start", id]));
    expectStateSchema(await state(id));
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    expectStateSchema(await state(id));
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "**`ociVersion`** (string, REQUIRED) is version of the Open Container Initiative Runtime Specification with which the state complies.",
  async () => {
    const { id } = await create(sleeper());
    try {
      const s = await state(id);
      expect(s.ociVersion).toMatch(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/);
      // The runtime speaks some 1.x version of the spec: the one config.json files use.
      expect(s.ociVersion.startsWith("1.")).toBe(true);
    } finally {
      await destroy(id);
    }
  },
);

must("runtime.md", "**`id`** (string, REQUIRED) is the container's ID.", async () => {
  const { id } = await create(sleeper());
  try {
    expect((await state(id)).id).toBe(id);
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "`created`: the runtime has finished the create operation (after step 2 in the lifecycle), and the container process has neither exited nor executed the user-specified program",
  async () => {
    const b = makeBundle({ args: ["sleep", "1000"] });
    const { id } = await create(b);
    try {
      const s = await state(id);
      expect(s.status).toBe("created");
      // Not yet executed: the process image is not the user's program.
      const cmd = fs.readFileSync(`/proc/${s.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      expect(cmd).not.toEqual(["sleep", "1000"]);
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "`running`: the container process has executed the user-specified program but has not exited (after step 8 in the lifecycle)",
  async () => {
    const { id } = await create(sleeper());
    try {
      ok(await rt(["start", id]));
      const s = await state(id);
      expect(s.status).toBe("running");
      const cmd = fs.readFileSync(`/proc/${s.pid}/cmdline`, "utf8").split("\0").filter(Boolean);
      expect(cmd).toEqual(["sleep", "1000"]);
    } finally {
      await destroy(id);
    }
  },
);

must("runtime.md", "`stopped`: the container process has exited (step 10 in the lifecycle)", async () => {
  const { id } = await create(makeBundle({ args: ["true"] }));
  try {
    ok(await rt(["start", id]));
    await waitStatus(id, "stopped");
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "**`pid`** (int, REQUIRED when `status` is `created` or `running` on Linux, OPTIONAL on other platforms) is the ID of the container process.",
  async () => {
    const b = sleeper();
    const { id } = await create(b);
    try {
      const created = await state(id);
      expect(Number.isInteger(created.pid)).toBe(true);
      expect(created.pid).toBeGreaterThan(0);
      // The pid is the container's process as the host sees it: its root is the bundle's rootfs.
      expect(sameFile(`/proc/${created.pid}/root`, b.rootfs)).toBe(true);
      ok(await rt(["start", id]));
      const running = await state(id);
      expect(running.pid).toBe(created.pid);
      expect(sameFile(`/proc/${running.pid}/exe`, path.join(b.rootfs, "bin/busybox"))).toBe(true);
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "**`bundle`** (string, REQUIRED) is the absolute path to the container's bundle directory.",
  async () => {
    const b = sleeper();
    const id = uniqueId();
    // Given relative to the runtime's cwd: the state must still hold the absolute path.
    ok(await rt(["create", "--bundle", path.basename(b.dir), id], { cwd: path.dirname(b.dir) }));
    try {
      const s = await state(id);
      expect(path.isAbsolute(s.bundle)).toBe(true);
      expect(fs.realpathSync(s.bundle)).toBe(fs.realpathSync(b.dir));
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "**`annotations`** (map, OPTIONAL) contains the list of annotations associated with the container.",
  async () => {
    const annotations = { "org.example.one": "1", "com.example.empty": "", "org.example.spaces": "a b  c" };
    const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => (c.annotations = annotations) });
    const { id } = await create(b);
    try {
      expect((await state(id)).annotations).toEqual(annotations);
    } finally {
      await destroy(id);
    }
  },
);

must(
  "runtime.md",
  "If no annotations were provided then this property MAY either be absent or an empty map.",
  async () => {
    const { id } = await create(sleeper());
    try {
      const s = await state(id);
      expect(s.id).toBe(id);
      if ("annotations" in s) expect(s.annotations).toEqual({});
    } finally {
      await destroy(id);
    }
  },
);

must("runtime.md", "This operation MUST generate an error if it is not provided the ID of a container.", async () => {
  const r = await rt(["state"]);
  fails(r);
});

must("runtime.md", "Attempting to query a container that does not exist MUST generate an error.", async () => {
  fails(await rt(["state", uniqueId()]));
});

must("runtime.md", "This operation MUST return the state of a container as specified in the State section.", async () => {
  const b = sleeper();
  const { id } = await create(b);
  try {
    const s = await state(id);
    expect(s).toMatchObject({ id, status: "created", bundle: fs.realpathSync(b.dir) });
    expect(s.pid).toBeGreaterThan(0);
  } finally {
    await destroy(id);
  }
});

must(
  "runtime.md",
  "The entity using a runtime to create a container MUST be able to use the operations defined in this specification against that same container.",
  async () => {
    const { id } = await create(sleeper());
    ok(await rt(["state", id]));
    ok(await rt(["start", id]));
    ok(await rt(["kill", id, "KILL"]));
    await waitStatus(id, "stopped");
    ok(await rt(["delete", id]));
  },
);
