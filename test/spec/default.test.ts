import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { semanticProblem } from "../../src/spec/check";
import { defaultSpec, renderSpec } from "../../src/spec/default";
import { configProblem } from "../../src/spec/validate";

const scratch = mkdtempSync(join(tmpdir(), "dx-spec-default-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const runc = Bun.which("runc");

function runcSpec(args: string[]): string {
  const dir = join(scratch, `runc-${args.join("") || "plain"}`);
  mkdirSync(dir);
  const out = Bun.spawnSync([runc!, "spec", ...args], { cwd: dir });
  expect(out.exitCode).toBe(0);
  return readFileSync(join(dir, "config.json"), "utf8");
}

describe("defaultSpec", () => {
  test("passes the schema and the semantic checks", () => {
    const spec = defaultSpec();
    expect(configProblem(spec)).toBeNull();
    expect(semanticProblem(spec, { requireProcess: true })).toBeNull();
  });

  test("rootless passes the schema and the semantic checks", () => {
    const spec = defaultSpec({ rootless: { uid: 1000, gid: 1001 } });
    expect(configProblem(spec)).toBeNull();
    expect(semanticProblem(spec, { requireProcess: true })).toBeNull();
    expect(spec.linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
    expect(spec.linux?.gidMappings).toEqual([{ containerID: 0, hostID: 1001, size: 1 }]);
    expect(spec.linux?.resources).toBeUndefined();
    expect(spec.linux?.namespaces?.some((ns) => ns.type === "network")).toBe(false);
  });

  test("each call returns a fresh object", () => {
    const a = defaultSpec();
    a.process!.args!.push("-c");
    expect(defaultSpec().process?.args).toEqual(["sh"]);
  });

  test.skipIf(!runc)("is byte for byte what `runc spec` writes", () => {
    expect(renderSpec(defaultSpec())).toBe(runcSpec([]));
  });

  test.skipIf(!runc)("rootless is byte for byte what `runc spec --rootless` writes", () => {
    const ids = { uid: process.geteuid!(), gid: process.getegid!() };
    expect(renderSpec(defaultSpec({ rootless: ids }))).toBe(runcSpec(["--rootless"]));
  });
});
