// The generated files are committed so that the runtime never compiles a
// schema; this fails when they no longer match what the generators produce
// from schemas/ (run `npm run gen` to refresh them).

import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const repo = join(import.meta.dir, "../..");
const out = mkdtempSync(join(tmpdir(), "dx-spec-gen-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

function generate(script: string): void {
  const run = Bun.spawnSync([process.execPath, join(repo, "scripts", script), out], { cwd: repo });
  if (run.exitCode !== 0) throw new Error(`${script} failed: ${run.stderr.toString()}`);
}

function same(file: string): void {
  const committed = readFileSync(join(repo, "src/spec", file), "utf8");
  const fresh = readFileSync(join(out, file), "utf8");
  if (committed !== fresh) throw new Error(`src/spec/${file} is stale: run \`npm run gen\``);
  expect(committed.length).toBeGreaterThan(0);
}

test("types.gen.ts matches the schemas", () => {
  generate("gen-types.ts");
  same("types.gen.ts");
}, 60_000);

test("validate.gen.js and its .d.ts match the schemas", () => {
  generate("gen-validator.ts");
  same("validate.gen.js");
  same("validate.gen.d.ts");
}, 60_000);

test("the generated validator needs no ajv at run time", () => {
  const code = readFileSync(join(repo, "src/spec/validate.gen.js"), "utf8");
  expect(code).not.toMatch(/\brequire\(|^\s*import\s/m);
  expect(code).toContain("export const validateConfig");
});
