// Exit statuses, command by command, as runc 1.1.5 gives them (each value below was read
// from /usr/sbin/runc with the same arguments). Engines and scripts tell a failed exec
// (255) from the process's own status, and urfave/cli's unknown command from the rest.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { makeBundle, rt, scratchDir, uniqueId, useHarness, waitStatus, type Bundle } from "../lib/harness";

useHarness("exit-codes");

type Case = [name: string, args: (c: Ctx) => string[], runc: number];
interface Ctx {
  id: string;
  missing: string;
  ok: Bundle;
  dir: string;
}

async function table(ctx: Ctx, cases: Case[]): Promise<void> {
  const got: string[] = [];
  const want: string[] = [];
  for (const [name, args, code] of cases) {
    const r = await rt(args(ctx));
    got.push(`${name}: ${r.code}`);
    want.push(`${name}: ${code}`);
  }
  expect(got).toEqual(want);
}

function context(): Ctx {
  const dir = scratchDir("codes");
  fs.writeFileSync(path.join(dir, "bad.json"), "{");
  return { id: uniqueId(), missing: uniqueId(), ok: makeBundle({ args: ["sleep", "1000"] }), dir };
}

test("no such container, no arguments, unknown commands and flags", async () => {
  const c = context();
  await table(c, [
    ["unknown command", () => ["frob"], 3],
    ["unknown global flag", () => ["--frob", "state", "x"], 1],
    ...(["start", "state", "kill", "delete", "ps", "pause", "resume", "update", "events"].map(
      (cmd) => [`${cmd} missing`, (x: Ctx) => [cmd, x.missing], 1] as Case,
    )),
    ["exec missing", (x) => ["exec", x.missing, "true"], 255],
    ...(["start", "state", "kill", "delete", "ps", "pause", "resume", "events", "create", "run", "exec", "update"].map(
      (cmd) => [`${cmd} without id`, () => [cmd], 1] as Case,
    )),
    ["state two ids", () => ["state", "a", "b"], 1],
    ["kill three args", () => ["kill", "a", "b", "c"], 1],
    ["state unknown flag", () => ["state", "--frob", "x"], 1],
    ["exec unknown flag", () => ["exec", "--frob", "x", "true"], 1],
    ["list bad format", () => ["list", "--format", "frob"], 1],
    ["delete -f missing", (x) => ["delete", "-f", x.missing], 0],
  ]);
});

test("bad bundles", async () => {
  const c = context();
  const noConf = scratchDir("noconf");
  const badJson = scratchDir("badjson");
  fs.writeFileSync(path.join(badJson, "config.json"), "{");
  const noBin = makeBundle({ args: ["/nonexistent"] });
  await table(c, [
    ["create without config.json", (x) => ["create", "-b", noConf, x.missing], 1],
    ["create bad JSON", (x) => ["create", "-b", badJson, x.missing], 1],
    ["run without config.json", (x) => ["run", "-b", noConf, x.missing], 1],
    ["run bad JSON", (x) => ["run", "-b", badJson, x.missing], 1],
    ["run executable missing", (x) => ["run", "-b", noBin.dir, x.missing], 1],
    ["spec where config.json exists", (x) => ["spec", "-b", x.ok.dir], 1],
  ]);
});

test("each command against a created, running, paused and stopped container", async () => {
  const c = context();
  try {
    await table(c, [
      ["create", (x) => ["create", "-b", x.ok.dir, x.id], 0],
      ["create again", (x) => ["create", "-b", x.ok.dir, x.id], 1],
      ["exec in created", (x) => ["exec", x.id, "true"], 0],
      ["pause created", (x) => ["pause", x.id], 0],
      ["resume created", (x) => ["resume", x.id], 0],
      ["ps created", (x) => ["ps", x.id], 0],
      ["start", (x) => ["start", x.id], 0],
      ["start running", (x) => ["start", x.id], 1],
      ["exec executable missing", (x) => ["exec", x.id, "/nonexistent"], 255],
      ["exec bad process.json", (x) => ["exec", "-p", path.join(x.dir, "bad.json"), x.id], 255],
      ["exec process.json missing", (x) => ["exec", "-p", path.join(x.dir, "none.json"), x.id], 255],
      ["exec without a command", (x) => ["exec", x.id], 255],
      ["exec exits 3", (x) => ["exec", x.id, "sh", "-c", "exit 3"], 3],
      ["exec bad cwd", (x) => ["exec", "--cwd", "/nonexistent", x.id, "true"], 255],
      ["exec bad user", (x) => ["exec", "--user", "foo", x.id, "true"], 255],
      ["kill unknown signal", (x) => ["kill", x.id, "FROB"], 1],
      ["kill 0", (x) => ["kill", x.id, "0"], 0],
      ["delete running", (x) => ["delete", x.id], 1],
      ["resume running", (x) => ["resume", x.id], 1],
      ["update bad value", (x) => ["update", "--memory", "abc", x.id], 1],
      ["events bad interval", (x) => ["events", "--interval", "abc", x.id], 1],
      ["pause", (x) => ["pause", x.id], 0],
      ["pause paused", (x) => ["pause", x.id], 1],
      ["exec in paused", (x) => ["exec", x.id, "true"], 255],
      ["resume", (x) => ["resume", x.id], 0],
      ["kill KILL", (x) => ["kill", x.id, "KILL"], 0],
    ]);
    await waitStatus(c.id, "stopped");
    await table(c, [
      ["kill stopped", (x) => ["kill", x.id, "TERM"], 1],
      ["kill 0 stopped", (x) => ["kill", x.id, "0"], 1],
      ["kill --all stopped", (x) => ["kill", "--all", x.id, "TERM"], 0],
      ["start stopped", (x) => ["start", x.id], 1],
      ["exec in stopped", (x) => ["exec", x.id, "true"], 255],
      ["ps stopped", (x) => ["ps", x.id], 0],
      ["pause stopped", (x) => ["pause", x.id], 1],
      ["resume stopped", (x) => ["resume", x.id], 1],
      ["update stopped", (x) => ["update", "--memory", "1000000", x.id], 1],
      ["state stopped", (x) => ["state", x.id], 0],
      ["delete stopped", (x) => ["delete", x.id], 0],
    ]);
  } finally {
    await rt(["delete", "-f", c.id]);
  }
});
