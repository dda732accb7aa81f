// events reports an OOM kill in the container's cgroup as runc does, one
// {"type":"oom","id":...} line among the stats lines, whether the victim is an exec'd
// process or the init itself (whose death also ends the events stream).
import { expect, test } from "bun:test";
import fs from "node:fs";
import { cgroupVersion } from "../../src/cgroups";
import { destroy, ioPath, makeBundle, ok, rt, state, statusOf, uniqueId, useHarness, waitFor } from "../lib/harness";

useHarness("cgroup-oom-events");

const LIMIT = 32 * 1024 * 1024;
// Without swap accounting on v1 the swap limit cannot be set; the host then has to have
// no swap for the limit to mean an OOM kill.
const swapKnob = cgroupVersion() === 2 || fs.existsSync("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes");

function limited(args: string[]) {
  return makeBundle({
    args,
    patch: (c) => (c.linux.resources = { ...(c.linux.resources ?? {}), memory: swapKnob ? { limit: LIMIT, swap: LIMIT } : { limit: LIMIT } }),
  });
}

// The shell keeps all of it: killed for memory within a second.
const HOG = "x=$(yes)";

function lines(file: string): string[] {
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
}

test("events: an exec'd process killed for memory is an oom event", async () => {
  const id = uniqueId();
  const out = ioPath("events-exec.out");
  ok(await rt(["run", "-d", "--bundle", limited(["sleep", "1000"]).dir, id]));
  const events = rt(["events", "--interval", "1s", id], { stdoutFile: out, timeoutMs: 40_000 });
  try {
    await waitFor(() => lines(out).length > 0, { timeoutMs: 10_000, what: "the first stats line" });
    ok(await rt(["exec", "-d", id, "sh", "-c", HOG]));
    await waitFor(() => lines(out).some((l) => l.includes('"oom"')), { timeoutMs: 15_000, what: "an oom event" });
    // The container lives on: only the hog was killed.
    expect(await statusOf(id)).toBe("running");
  } finally {
    await destroy(id);
  }
  const r = await events;
  expect(r.timedOut).toBe(false);
  const all = lines(out);
  expect(all).toContain(JSON.stringify({ type: "oom", id }));
  expect(all.filter((l) => l.includes('"oom"')).length).toBe(1);
  for (const l of all) expect(["stats", "oom"]).toContain(JSON.parse(l).type);
});

test("events: the init killed for memory is reported before the stream ends", async () => {
  const id = uniqueId();
  const out = ioPath("events-init.out");
  // The init waits for the go-ahead file, so the events stream is already watching.
  const b = limited(["sh", "-c", `while [ ! -e /go/now ]; do sleep 0.1; done; ${HOG}; sleep 1000`]);
  const go = b.hostDir("/go");
  ok(await rt(["run", "-d", "--bundle", b.dir, id]));
  try {
    const pid = (await state(id)).pid;
    const events = rt(["events", id], { stdoutFile: out, timeoutMs: 40_000 });
    await waitFor(() => lines(out).length > 0, { timeoutMs: 10_000, what: "the first stats line" });
    fs.writeFileSync(`${go}/now`, "");
    const r = await events;
    expect(r.code).toBe(0);
    expect(fs.existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(fs.readFileSync(`/proc/${pid}/status`, "utf8"))).toBe(false);
    expect(lines(out)).toContain(JSON.stringify({ type: "oom", id }));
  } finally {
    await destroy(id);
  }
});
