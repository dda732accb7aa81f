import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaultSpec, renderSpec } from "../../src/spec/default";
import { exactInteger, integerOf } from "../../src/spec/json";
import { loadSpec, SpecError } from "../../src/spec/load";

// Configs are handled as loose JSON here: the point is to write invalid ones.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = Record<string, any>;

const scratch = mkdtempSync(join(tmpdir(), "dx-spec-load-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

let n = 0;
let bundle = "";
beforeEach(() => {
  bundle = join(scratch, `b${n++}`);
  mkdirSync(join(bundle, "rootfs"), { recursive: true });
});

function base(): Loose {
  return JSON.parse(renderSpec(defaultSpec()));
}

function write(config: Loose | string): void {
  writeFileSync(join(bundle, "config.json"), typeof config === "string" ? config : JSON.stringify(config, null, 2));
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError);
    const message = (err as Error).message;
    expect(message).not.toContain("\n");
    return message;
  }
  throw new Error("expected a SpecError, got success");
}

function loadError(config: Loose | string, opts?: { requireProcess?: boolean }): string {
  write(config);
  return errorOf(() => loadSpec(bundle, opts));
}

describe("loadSpec accepts", () => {
  test("runc's default spec, with root.path made absolute against the bundle", () => {
    write(base());
    const spec = loadSpec(bundle);
    expect(spec.root?.path).toBe(join(bundle, "rootfs"));
    expect(spec.process?.args).toEqual(["sh"]);
    expect(spec.linux?.namespaces?.map((ns) => ns.type)).toEqual(["pid", "network", "ipc", "uts", "mount"]);
  });

  test("a relative bundle path", () => {
    write(base());
    const cwd = process.cwd();
    process.chdir(scratch);
    try {
      const rel = bundle.slice(scratch.length + 1);
      expect(loadSpec(rel).root?.path).toBe(join(bundle, "rootfs"));
    } finally {
      process.chdir(cwd);
    }
  });

  test("an absolute root.path, kept as it is", () => {
    const other = join(scratch, `elsewhere${n}`);
    mkdirSync(other);
    write({ ...base(), root: { path: other } });
    expect(loadSpec(bundle).root?.path).toBe(other);
  });

  test("a config without process when the caller does not need one", () => {
    const c = base();
    delete c.process;
    write(c);
    expect(loadSpec(bundle, { requireProcess: false }).process).toBeUndefined();
  });

  test("joining an existing user namespace without mappings", () => {
    const c = base();
    c.linux.namespaces.push({ type: "user", path: "/proc/1/ns/user" });
    write(c);
    expect(loadSpec(bundle).linux?.namespaces).toHaveLength(6);
  });

  test("a rootless spec (user namespace with mappings)", () => {
    write(JSON.parse(renderSpec(defaultSpec({ rootless: { uid: 1000, gid: 1000 } }))));
    expect(loadSpec(bundle).linux?.uidMappings).toEqual([{ containerID: 0, hostID: 1000, size: 1 }]);
  });

  test("null fields, read as absent like runc does", () => {
    const c = base();
    c.hooks = null;
    c.process.env = null;
    c.linux.resources = { devices: null, memory: { limit: null } };
    write(c);
    const spec = loadSpec(bundle);
    expect(spec.hooks).toBeUndefined();
    expect(spec.process?.env).toBeUndefined();
    expect(spec.linux?.resources).toEqual({ memory: {} });
    expect(loadError({ ...base(), root: null })).toBe("config.json: /root: is required");
    expect(loadError("null")).toBe("config.json: must be object");
  });

  test("other 1.x versions", () => {
    for (const v of ["1.0.0", "1.1.0-rc.1", "1.2.1", "1.3.0", "1.0.2-dev"]) {
      write({ ...base(), ociVersion: v });
      expect(loadSpec(bundle).ociVersion).toBe(v);
    }
  });

  test("integers beyond 2^53 keep their exact value on the side", () => {
    const c = base();
    c.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["personality"],
          action: "SCMP_ACT_ERRNO",
          args: [{ index: 0, value: 1, op: "SCMP_CMP_MASKED_EQ" }],
        },
      ],
    };
    const text = JSON.stringify(c).replace('"value":1', '"value":18446744073709551615,"valueTwo":9007199254740993');
    write(text);
    const arg = loadSpec(bundle).linux!.seccomp!.syscalls![0]!.args![0]!;
    expect(exactInteger(arg, "value")).toBe(18446744073709551615n);
    expect(integerOf(arg, "valueTwo")).toBe(9007199254740993n);
    expect(exactInteger(arg, "index")).toBeUndefined();
    expect(integerOf(arg, "index")).toBe(0n);
  });
});

describe("loadSpec refuses, in one line", () => {
  test("no config.json", () => {
    expect(errorOf(() => loadSpec(bundle))).toBe("config.json: missing");
  });

  test("no bundle directory", () => {
    const gone = join(scratch, "no-such-bundle");
    expect(errorOf(() => loadSpec(gone))).toBe(`bundle ${gone}: no such directory`);
  });

  test("bad JSON, with its position", () => {
    expect(loadError('{\n  "ociVersion": "1.0.2",\n    }\n')).toBe(
      "config.json: invalid JSON at line 3 column 5: trailing comma in object",
    );
    expect(loadError('{\n  "ociVersion" "1.0.2"\n}')).toBe(
      `config.json: invalid JSON at line 2 column 16: expected ':' after key, found "\\""`,
    );
    expect(loadError('{"a": [1, 2')).toBe("config.json: invalid JSON at line 1 column 12: expected ',' or ']', found end of input");
    expect(loadError("")).toBe("config.json: invalid JSON at line 1 column 1: unexpected end of input");
  });

  test("a document that is not an object", () => {
    expect(loadError("[]")).toBe("config.json: must be object");
  });

  test("a field of the wrong type", () => {
    const c = base();
    c.process.args = "sh";
    expect(loadError(c)).toBe("config.json: /process/args: must be array");
  });

  test("a value outside its enum", () => {
    const c = base();
    c.linux.namespaces[0].type = "pdi";
    expect(loadError(c)).toBe(
      "config.json: /linux/namespaces/0/type: must be one of mount, pid, network, uts, ipc, user, cgroup, time",
    );
  });

  test("a required field missing", () => {
    const c = base();
    delete c.ociVersion;
    expect(loadError(c)).toBe("config.json: /ociVersion: is required");
    const d = base();
    delete d.root.path;
    expect(loadError(d)).toBe("config.json: /root/path: is required");
  });

  test("a number out of range", () => {
    const c = base();
    c.process.user.uid = 4294967296;
    expect(loadError(c)).toBe("config.json: /process/user/uid: must be <= 4294967295");
    const d = base();
    d.process.user.gid = 1.5;
    expect(loadError(d)).toBe("config.json: /process/user/gid: must be integer");
  });

  test("a pattern mismatch", () => {
    const c = base();
    c.process.rlimits[0].type = "nofile";
    expect(loadError(c)).toBe('config.json: /process/rlimits/0/type: must match pattern "^RLIMIT_[A-Z]+$"');
  });

  test("no process, for create", () => {
    const c = base();
    delete c.process;
    expect(loadError(c)).toBe("config.json: /process: is required");
  });

  test("process.args missing or empty", () => {
    const c = base();
    delete c.process.args;
    expect(loadError(c)).toBe("config.json: /process/args: is required");
    const d = base();
    d.process.args = [];
    expect(loadError(d)).toBe("config.json: /process/args: must not be empty");
  });

  test("a relative cwd", () => {
    const c = base();
    c.process.cwd = "tmp";
    expect(loadError(c)).toBe("config.json: /process/cwd: must be an absolute path");
  });

  test("no root", () => {
    const c = base();
    delete c.root;
    expect(loadError(c)).toBe("config.json: /root: is required");
  });

  test("a rootfs that does not exist or is not a directory", () => {
    rmSync(join(bundle, "rootfs"), { recursive: true });
    expect(loadError(base())).toBe(`rootfs ${join(bundle, "rootfs")}: no such directory`);
    writeFileSync(join(bundle, "rootfs"), "");
    expect(loadError(base())).toBe(`rootfs ${join(bundle, "rootfs")}: not a directory`);
  });

  test("a namespace type given twice", () => {
    const c = base();
    c.linux.namespaces.push({ type: "pid" });
    expect(loadError(c)).toBe("config.json: /linux/namespaces/5/type: duplicate namespace pid");
  });

  test("a relative namespace path", () => {
    const c = base();
    c.linux.namespaces[1].path = "proc/1/ns/net";
    expect(loadError(c)).toBe("config.json: /linux/namespaces/1/path: must be an absolute path");
  });

  test("a new user namespace without mappings", () => {
    const c = base();
    c.linux.namespaces.push({ type: "user" });
    expect(loadError(c)).toBe("config.json: /linux: user namespace without uidMappings");
    c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(loadError(c)).toBe("config.json: /linux: user namespace without gidMappings");
  });

  test("mappings without a user namespace", () => {
    const c = base();
    c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(loadError(c)).toBe("config.json: /linux/uidMappings: mappings without a user namespace");
    delete c.linux.uidMappings;
    c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
    expect(loadError(c)).toBe("config.json: /linux/gidMappings: mappings without a user namespace");
  });

  test("an ociVersion that is not 1.x", () => {
    expect(loadError({ ...base(), ociVersion: "2.0.0" })).toBe(
      'config.json: /ociVersion: unsupported version "2.0.0", must be 1.x',
    );
    expect(loadError({ ...base(), ociVersion: "" })).toBe('config.json: /ociVersion: unsupported version "", must be 1.x');
  });

  test("rlimits that are unknown, repeated or inverted", () => {
    const c = base();
    c.process.rlimits.push({ type: "RLIMIT_FOO", hard: 1, soft: 1 });
    expect(loadError(c)).toBe("config.json: /process/rlimits/1/type: unknown resource RLIMIT_FOO");
    c.process.rlimits[1].type = "RLIMIT_NOFILE";
    expect(loadError(c)).toBe("config.json: /process/rlimits/1/type: duplicate RLIMIT_NOFILE");
    c.process.rlimits = [{ type: "RLIMIT_NPROC", hard: 10, soft: 20 }];
    expect(loadError(c)).toBe("config.json: /process/rlimits/0: soft limit is above the hard limit");
  });

  test("a hook with a relative path", () => {
    const c = base();
    c.hooks = { poststop: [{ path: "/bin/true" }, { path: "bin/true" }] };
    expect(loadError(c)).toBe("config.json: /hooks/poststop/1/path: must be an absolute path");
  });

  test("a hostname without a uts namespace", () => {
    const c = base();
    c.linux.namespaces = c.linux.namespaces.filter((ns: Loose) => ns.type !== "uts");
    expect(loadError(c)).toBe("config.json: /hostname: needs a uts namespace");
  });
});

describe("loadSpec's cost", () => {
  test("importing the loader pulls in no schema compiler", () => {
    const probe =
      'await import("./src/spec/load.ts"); ' +
      "console.log(JSON.stringify(Object.keys(require.cache)))";
    const out = Bun.spawnSync([process.execPath, "-e", probe], { cwd: join(import.meta.dir, "../..") });
    expect(out.exitCode).toBe(0);
    const loaded: string[] = JSON.parse(out.stdout.toString());
    expect(loaded.some((p) => p.endsWith("/src/spec/validate.gen.js"))).toBe(true);
    expect(loaded.filter((p) => p.includes("/node_modules/"))).toEqual([]);
  });
});
