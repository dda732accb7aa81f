// Per-command options: --preserve-fds, --no-pivot; global --log and --log-format.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { fails, makeBundle, ok, output, readFile, rt, runFg, uniqueId, useHarness } from "../lib/harness";

useHarness("options");

test("--preserve-fds passes fds 3.. to the container", async () => {
  const b = makeBundle({ args: ["sh", "-c", "echo via-fd3 >&3; cat <&4"] });
  const out3 = path.join(b.dir, "fd3");
  const in4 = path.join(b.dir, "fd4");
  fs.writeFileSync(in4, "read-from-fd4\n");
  const w = fs.openSync(out3, "w");
  const r = fs.openSync(in4, "r");
  try {
    const res = await runFg(b, { args: ["--preserve-fds", "2"], extraFds: [w, r] });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("read-from-fd4\n");
  } finally {
    fs.closeSync(w);
    fs.closeSync(r);
  }
  expect(fs.readFileSync(out3, "utf8")).toBe("via-fd3\n");
});

test("fds beyond --preserve-fds are not passed to the container", async () => {
  const b = makeBundle({
    args: ["sh", "-c", "for f in 3 4 5; do if [ -e /proc/self/fd/$f ]; then echo fd$f-open; else echo fd$f-closed; fi; done"],
  });
  const f1 = fs.openSync(path.join(b.dir, "a"), "w");
  const f2 = fs.openSync(path.join(b.dir, "b"), "w");
  try {
    // The shell's own [ -e ] opens nothing, so any open fd came from outside.
    const none = await runFg(b, { extraFds: [f1, f2] });
    expect(none.stdout).toBe("fd3-closed\nfd4-closed\nfd5-closed\n");
    const one = await runFg(b, { args: ["--preserve-fds", "1"], extraFds: [f1, f2] });
    expect(one.stdout).toBe("fd3-open\nfd4-closed\nfd5-closed\n");
  } finally {
    fs.closeSync(f1);
    fs.closeSync(f2);
  }
});

test("--preserve-fds on create reaches the process started later", async () => {
  const b = makeBundle({ args: ["sh", "-c", "echo later >&3"] });
  const file = path.join(b.dir, "fd3");
  const w = fs.openSync(file, "w");
  const id = uniqueId();
  try {
    ok(await rt(["create", "--preserve-fds", "1", "--bundle", b.dir, id], { extraFds: [w] }));
  } finally {
    fs.closeSync(w);
  }
  ok(await rt(["start", id]));
  const deadline = Date.now() + 10_000;
  while (!readFile(file) && Date.now() < deadline) await Bun.sleep(20);
  expect(readFile(file)).toBe("later\n");
  ok(await rt(["delete", "--force", id]));
});

test("--no-pivot runs the container in its rootfs without pivot_root", async () => {
  const b = makeBundle({ args: ["sh", "-c", "cat /etc/hostname; ls /work 2>/dev/null || echo no-host-dirs"] });
  const r = await runFg(b, { args: ["--no-pivot"] });
  expect(r.code).toBe(0);
  expect(r.stdout).toBe("dxt\nno-host-dirs\n");
});

test("--no-pivot with a read-only root", async () => {
  const b = makeBundle({ args: ["sh", "-c", "touch /x 2>/dev/null && echo wrote || echo refused"] });
  expect(await output(b, { args: ["--no-pivot"] })).toBe("refused\n");
});

test("--log with --log-format json writes errors as JSON lines", async () => {
  const log = path.join(makeBundle({ args: ["true"] }).dir, "log.json");
  const r = await rt(["--log", log, "--log-format", "json", "start", uniqueId()]);
  fails(r);
  const lines = readFile(log).split("\n").filter(Boolean);
  expect(lines.length).toBeGreaterThan(0);
  const entries = lines.map((l) => JSON.parse(l));
  const err = entries.find((e) => e.level === "error");
  expect(err).toBeDefined();
  expect(typeof err.msg).toBe("string");
  expect(err.msg.length).toBeGreaterThan(0);
  expect(Date.parse(err.time)).not.toBeNaN();
});

test("--log with the default text format", async () => {
  const log = path.join(makeBundle({ args: ["true"] }).dir, "log.txt");
  fails(await rt(["--log", log, "state", uniqueId()]));
  expect(readFile(log)).toMatch(/level=error msg=".+"/);
});

test("--log-format json without --log writes JSON to stderr", async () => {
  const r = await rt(["--log-format", "json", "state", uniqueId()]);
  fails(r);
  const jsonLines = r.stderr
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
  expect(jsonLines.some((e) => e.level === "error" && typeof e.msg === "string")).toBe(true);
});

test("--log-format with an unknown format fails", async () => {
  fails(await rt(["--log-format", "xml", "list"]));
});
