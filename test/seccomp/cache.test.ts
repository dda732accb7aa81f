// The compiled filter is reused across creates (engines pass the same profile every
// time), and a cache entry anyone but root could have written is never trusted.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { currentSuite, makeBundle, uniqueId, useHarness, type Bundle, type Config } from "../lib/harness";
import { privateCache } from "../lib/privatecache";

useHarness("seccomp-cache");

const profile = JSON.parse(fs.readFileSync(path.join(import.meta.dir, "fixtures/docker-like.json"), "utf8"));

function patch(c: Config): void {
  c.root.readonly = false;
  c.linux.seccomp = structuredClone(profile);
  // one rule the test can see from inside: mkdir answers ENOSPC
  c.linux.seccomp.syscalls.unshift({ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 28 });
}

test("a profile is compiled once, reused, and a writable cache entry is ignored", async () => {
  // A cache dir of the test's own: the machine's is shared with every other run.
  const cache = await privateCache("mode=700");
  try {
    const root = currentSuite().root;
    const args = ["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"];
    const output = (b: Bundle) => {
      const out = path.join(b.dir, "out");
      const r = cache.run(["--root", root, "run", "--bundle", b.dir, uniqueId()], out);
      expect(r.status).toBe(0);
      return fs.readFileSync(out, "utf8");
    };
    expect(output(makeBundle({ args, patch }))).toMatch(/no space left/i);
    const cacheDir = path.join(cache.dir, "seccomp");
    const entries = fs.readdirSync(cacheDir);
    expect(entries.length).toBe(1);
    const file = path.join(cacheDir, entries[0]!);
    const first = fs.statSync(file);
    expect(first.mode & 0o777).toBe(0o600);

    // Reused: the entry is not rewritten, and the filter still applies.
    expect(output(makeBundle({ args, patch }))).toMatch(/no space left/i);
    expect(fs.statSync(file).mtimeMs).toBe(first.mtimeMs);

    // Tampered (world-writable, emptied of rules): ignored and replaced.
    const entry = JSON.parse(fs.readFileSync(file, "utf8"));
    entry.c.bpf = Buffer.from(new Uint8Array(8)).toString("base64");
    fs.writeFileSync(file, JSON.stringify(entry));
    fs.chmodSync(file, 0o666);
    expect(output(makeBundle({ args, patch }))).toMatch(/no space left/i);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);

    // The cache is not in the root: the root holds containers only.
    expect(fs.readdirSync(root)).toEqual([]);
  } finally {
    cache.close();
  }
});
