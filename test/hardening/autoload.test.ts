// Engines run the runtime with the bundle as its working directory: nothing there may
// configure the runtime itself. A compiled Bun binary would read .env and bunfig.toml
// from its cwd unless built not to.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RUNTIME } from "../lib/runtime";

test("the runtime opens no .env or bunfig.toml from its working directory", () => {
  const dir = mkdtempSync(join(tmpdir(), "dxt-autoload-"));
  try {
    writeFileSync(join(dir, ".env"), "DX_FROM_BUNDLE=1\n");
    writeFileSync(join(dir, "bunfig.toml"), "preload = ['./evil.ts']\n");
    const r = Bun.spawnSync(["strace", "-f", "-e", "trace=openat,open", RUNTIME, "--version"], { cwd: dir, stderr: "pipe", stdout: "pipe" });
    expect(r.exitCode).toBe(0);
    const trace = new TextDecoder().decode(r.stderr);
    expect(trace).toContain("openat("); // strace really traced it
    expect(trace).not.toMatch(/"(\.env|bunfig\.toml)"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
