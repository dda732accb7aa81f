// The compiled filter is reused across creates (engines pass the same profile every
// time), and a cache entry anyone but root could have written is never trusted.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { currentSuite, makeBundle, output, rt, useHarness, type Config } from "../lib/harness";

useHarness("seccomp-cache");

const profile = JSON.parse(fs.readFileSync(path.join(import.meta.dir, "fixtures/docker-like.json"), "utf8"));

function patch(c: Config): void {
  c.root.readonly = false;
  c.linux.seccomp = structuredClone(profile);
  // one rule the test can see from inside: mkdir answers ENOSPC
  c.linux.seccomp.syscalls.unshift({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 });
}

test("a profile is compiled once, reused, and a writable cache entry is ignored", async () => {
  const cacheDir = path.join(currentSuite().root, ".seccomp");
  const args = ["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"];
  expect(await output(makeBundle({ args, patch }))).toMatch(/no space left/i);
  const entries = fs.readdirSync(cacheDir);
  expect(entries.length).toBe(1);
  const file = path.join(cacheDir, entries[0]!);
  const first = fs.statSync(file);
  expect(first.mode & 0o777).toBe(0o600);

  // Reused: the entry is not rewritten, and the filter still applies.
  expect(await output(makeBundle({ args, patch }))).toMatch(/no space left/i);
  expect(fs.statSync(file).mtimeMs).toBe(first.mtimeMs);

  // Tampered (world-writable, emptied of rules): ignored and replaced.
  const entry = JSON.parse(fs.readFileSync(file, "utf8"));
  entry.c.bpf = Buffer.from(new Uint8Array(8)).toString("base64");
  fs.writeFileSync(file, JSON.stringify(entry));
  fs.chmodSync(file, 0o666);
  expect(await output(makeBundle({ args, patch }))).toMatch(/no space left/i);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);

  // The cache is not a container.
  const list = await rt(["list", "-q"]);
  expect(list.stdout).not.toContain(".seccomp");
});
