import { describe, expect, test } from "bun:test";
import { endianness } from "node:os";
import { compileSeccomp, seccompFeatures, SeccompError, type SeccompInput } from "../../src/seccomp";
import type { LinuxSeccomp } from "../../src/spec/types.gen";
import { parseJson } from "../../src/spec/json";
import { fixture } from "./harness";

interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

function decode(bpf: Uint8Array): Insn[] {
  const dv = new DataView(bpf.buffer, bpf.byteOffset, bpf.byteLength);
  const out: Insn[] = [];
  for (let o = 0; o < bpf.length; o += 8) {
    out.push({ code: dv.getUint16(o, true), jt: dv.getUint8(o + 2), jf: dv.getUint8(o + 3), k: dv.getUint32(o + 4, true) });
  }
  return out;
}

const BPF_RET_K = 0x06;
const returns = (bpf: Uint8Array) => new Set(decode(bpf).filter((i) => i.code === BPF_RET_K).map((i) => i.k >>> 0));

function compile(s: SeccompInput) {
  const warnings: string[] = [];
  const c = compileSeccomp(s, (m) => warnings.push(m));
  return { ...c, warnings };
}

const docker = fixture("docker-like.json") as SeccompInput;

describe("exported BPF", () => {
  test("a small profile is a whole program that ends in a return", () => {
    const c = compile({ defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }] });
    expect(c.bpf.length % 8).toBe(0);
    const insns = decode(c.bpf);
    expect(insns.length).toBeGreaterThan(3);
    expect(insns.at(-1)!.code).toBe(BPF_RET_K);
    // default ALLOW and the rule's ERRNO(EPERM) are both reachable outcomes
    expect(returns(c.bpf)).toContain(0x7fff0000);
    expect(returns(c.bpf)).toContain(0x00050001);
    expect(c.needsNotify).toBe(false);
    expect(c.warnings).toEqual([]);
  });

  test("the Docker-sized profile compiles for three architectures", () => {
    const c = compile(docker);
    const insns = decode(c.bpf);
    expect(c.bpf.length % 8).toBe(0);
    expect(insns.length).toBeGreaterThan(300);
    // the kernel's BPF_MAXINSNS
    expect(insns.length).toBeLessThanOrEqual(4096);
    expect(returns(c.bpf)).toContain(0x00050001); // default ERRNO(EPERM)
    expect(returns(c.bpf)).toContain(0x00050000 | 38); // clone3 → ENOSYS
    // x86-64, i386 and x32 audit arch values are each checked
    const loads = new Set(decode(c.bpf).map((i) => i.k >>> 0));
    for (const arch of [0xc000003e, 0x40000003]) expect(loads).toContain(arch);
  });

  test("output is deterministic", () => {
    const a = compile(docker).bpf;
    const b = compile(docker).bpf;
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
  });

  test("spec types from the schema are accepted as they are", () => {
    const s: LinuxSeccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_LOG" }] };
    expect(compileSeccomp(s, () => {}).bpf.length).toBeGreaterThan(0);
  });

  test("filter flags never change the program", () => {
    const base: SeccompInput = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }] };
    const plain = compile({ ...base, flags: [] });
    const flagged = compile({ ...base, flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"] });
    expect(Buffer.from(plain.bpf).equals(Buffer.from(flagged.bpf))).toBe(true);
    expect(plain.flags).toBe(0);
    expect(flagged.flags).toBe(2 | 4);
  });
});

describe("actions", () => {
  const expected: Record<string, number> = {
    SCMP_ACT_KILL: 0x00000000,
    SCMP_ACT_KILL_THREAD: 0x00000000,
    SCMP_ACT_KILL_PROCESS: 0x80000000,
    SCMP_ACT_TRAP: 0x00030000,
    SCMP_ACT_ERRNO: 0x00050001,
    SCMP_ACT_TRACE: 0x7ff00001,
    SCMP_ACT_LOG: 0x7ffc0000,
    SCMP_ACT_NOTIFY: 0x7fc00000,
  };
  for (const [action, ret] of Object.entries(expected)) {
    test(`${action} compiles to SECCOMP_RET ${ret.toString(16)}`, () => {
      const c = compile({ defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/run/agent.sock", syscalls: [{ names: ["getppid"], action }] });
      expect(returns(c.bpf)).toContain(ret);
    });
  }

  test("every action can be the default but NOTIFY", () => {
    for (const a of Object.keys(expected).filter((a) => a !== "SCMP_ACT_NOTIFY")) {
      const c = compile({ defaultAction: a, syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW" }] });
      expect(returns(c.bpf)).toContain(expected[a]!);
    }
  });

  test("errnoRet and defaultErrnoRet are carried in the return value", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      defaultErrnoRet: 38,
      syscalls: [
        { names: ["read", "write"], action: "SCMP_ACT_ALLOW" },
        { names: ["mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 30 },
        { names: ["uname"], action: "SCMP_ACT_TRACE", errnoRet: 1234 },
      ],
    });
    const r = returns(c.bpf);
    expect(r).toContain(0x00050000 | 38);
    expect(r).toContain(0x00050000 | 30);
    expect(r).toContain(0x7ff00000 | 1234);
  });

  test("a rule equal to the default action is dropped, not an error", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ERRNO",
      syscalls: [
        { names: ["getpid"], action: "SCMP_ACT_ERRNO" },
        { names: ["getppid"], action: "SCMP_ACT_ERRNO", errnoRet: 1 },
        { names: ["getuid"], action: "SCMP_ACT_ALLOW" },
      ],
    });
    const only = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["getuid"], action: "SCMP_ACT_ALLOW" }] });
    expect(Buffer.from(c.bpf).equals(Buffer.from(only.bpf))).toBe(true);
    // same action but another errno is a real rule
    const other = compile({ defaultAction: "SCMP_ACT_ERRNO", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", errnoRet: 2 }] });
    expect(returns(other.bpf)).toContain(0x00050002);
  });
});

describe("arguments", () => {
  for (const op of ["SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ"]) {
    test(`${op} compiles`, () => {
      const c = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["getpriority"], action: "SCMP_ACT_ERRNO", args: [{ index: 1, value: 0xff, valueTwo: 7, op }] }],
      });
      expect(returns(c.bpf)).toContain(0x00050001);
      // the argument's low word is loaded: seccomp_data.args[1] sits at offset 24
      expect(decode(c.bpf).some((i) => i.code === 0x20 && (i.k === 24 || i.k === 28))).toBe(true);
    });
  }

  test("64-bit values, as number and as bigint, are accepted", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["getpriority"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 0xffffffffffffffffn, op: "SCMP_CMP_EQ" }] },
        { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 40, op: "SCMP_CMP_GT" }] },
      ],
    });
    expect(c.bpf.length).toBeGreaterThan(0);
  });

  test("integers beyond 2^53 read with parseJson keep their exact value", () => {
    const s = parseJson(
      '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpriority"],"action":"SCMP_ACT_ERRNO",' +
        '"args":[{"index":1,"value":18446744073709551615,"valueTwo":18446744073709551614,"op":"SCMP_CMP_MASKED_EQ"}]}]}',
    ) as SeccompInput;
    const c = compile(s);
    expect(c.warnings).toEqual([]);
    const ks = decode(c.bpf).map((i) => i.k >>> 0);
    expect(ks).toContain(0xfffffffe); // low word of valueTwo, which a double would have rounded to 0
  });

  test("2^64 read by plain JSON.parse is refused rather than wrapped", () => {
    const s = JSON.parse('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpid"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":18446744073709551615,"op":"SCMP_CMP_EQ"}]}]}');
    expect(() => compileSeccomp(s, () => {})).toThrow("linux.seccomp.syscalls[0].args[0].value: 18446744073709552000 is not a uint64");
  });

  test("two conditions on one argument become separate rules", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["getpriority"],
          action: "SCMP_ACT_ERRNO",
          args: [
            { index: 0, value: 1, op: "SCMP_CMP_EQ" },
            { index: 0, value: 2, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    const ks = decode(c.bpf).filter((i) => (i.code & 0x07) === 0x05).map((i) => i.k);
    expect(ks).toContain(1);
    expect(ks).toContain(2);
  });

  test("a value beyond 2^53 in a number is compiled with a warning", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 2 ** 60, op: "SCMP_CMP_EQ" }] }],
    });
    expect(c.warnings).toEqual([expect.stringContaining("linux.seccomp.syscalls[0].args[0].value")]);
  });
});

describe("unknown syscalls", () => {
  test("are skipped with one warning each", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        { names: ["getpid", "no_such_call"], action: "SCMP_ACT_ERRNO" },
        { names: ["no_such_call", "another_fake"], action: "SCMP_ACT_KILL" },
      ],
    });
    expect(c.warnings).toEqual(['seccomp: syscall "no_such_call" unknown, skipped', 'seccomp: syscall "another_fake" unknown, skipped']);
    expect(returns(c.bpf)).toContain(0x00050001);
  });

  test("names of other architectures resolve and are not warned about", () => {
    const c = compile({ defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86"], syscalls: [{ names: ["socketcall", "_llseek"], action: "SCMP_ACT_ERRNO" }] });
    expect(c.warnings).toEqual([]);
  });
});

describe("flags", () => {
  test("absent flags default to SPEC_ALLOW like runc", () => {
    expect(compile({ defaultAction: "SCMP_ACT_ALLOW" }).flags).toBe(4);
    expect(compile({ defaultAction: "SCMP_ACT_ALLOW", flags: [] }).flags).toBe(0);
  });

  test("NOTIFY adds NEW_LISTENER and WAIT_KILLABLE_RECV is kept with it", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      listenerPath: "/run/agent.sock",
      listenerMetadata: "meta",
      syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }],
    });
    expect(c.needsNotify).toBe(true);
    expect(c.flags).toBe(8 | 32);
    expect(c.listenerPath).toBe("/run/agent.sock");
    expect(c.listenerMetadata).toBe("meta");
  });

  test("WAIT_KILLABLE_RECV without NOTIFY is dropped with a warning", () => {
    const c = compile({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"] });
    expect(c.flags).toBe(0);
    expect(c.warnings).toHaveLength(1);
  });
});

describe("bad input", () => {
  const bad: [string, SeccompInput, RegExp][] = [
    ["default action", { defaultAction: "SCMP_ACT_NOPE" }, /^linux\.seccomp\.defaultAction: unknown action "SCMP_ACT_NOPE"$/],
    ["rule action", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "ALLOW" }] }, /^linux\.seccomp\.syscalls\[0\]\.action: /],
    [
      "operator",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_KILL", args: [{ index: 0, value: 1, op: "SCMP_CMP_XX" }] }] },
      /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.op: unknown operator/,
    ],
    [
      "argument index",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_KILL", args: [{ index: 6, value: 1, op: "SCMP_CMP_EQ" }] }] },
      /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.index: 6/,
    ],
    [
      "negative value",
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_KILL", args: [{ index: 0, value: -1, op: "SCMP_CMP_EQ" }] }] },
      /^linux\.seccomp\.syscalls\[0\]\.args\[0\]\.value: -1 is not a uint64$/,
    ],
    ["architecture", { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_VAX"] }, /^linux\.seccomp\.architectures\[1\]: unknown architecture "SCMP_ARCH_VAX"$/],
    ["flag", { defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_NOPE"] }, /^linux\.seccomp\.flags\[0\]: unknown flag/],
    ["errnoRet on ALLOW", { defaultAction: "SCMP_ACT_KILL", syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ALLOW", errnoRet: 1 }] }, /^linux\.seccomp\.syscalls\[0\]\.errnoRet: SCMP_ACT_ALLOW does not take an errno$/],
    ["defaultErrnoRet on KILL", { defaultAction: "SCMP_ACT_KILL", defaultErrnoRet: 1 }, /^linux\.seccomp\.defaultErrnoRet: /],
    ["errnoRet too large", { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 70000 }, /^linux\.seccomp\.defaultErrnoRet: 70000 does not fit/],
    ["NOTIFY without listenerPath", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["mkdirat"], action: "SCMP_ACT_NOTIFY" }] }, /^linux\.seccomp\.listenerPath: required/],
    ["NOTIFY as default", { defaultAction: "SCMP_ACT_NOTIFY", listenerPath: "/x" }, /^linux\.seccomp\.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action$/],
    ["NOTIFY on sendmsg", { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/x", syscalls: [{ names: ["sendmsg"], action: "SCMP_ACT_NOTIFY" }] }, /^linux\.seccomp\.syscalls\[0\]: SCMP_ACT_NOTIFY cannot be used for the sendmsg syscall$/],
    // runc's words for write(2)
    ["NOTIFY on write", { defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/x", syscalls: [{ names: ["read", "write"], action: "SCMP_ACT_NOTIFY" }] }, /^linux\.seccomp\.syscalls\[0\]: SCMP_ACT_NOTIFY cannot be used for the write syscall$/],
    ["listenerMetadata alone", { defaultAction: "SCMP_ACT_ALLOW", listenerMetadata: "m" }, /^linux\.seccomp\.listenerMetadata: set without listenerPath$/],
    ["empty names", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: [], action: "SCMP_ACT_KILL" }] }, /^linux\.seccomp\.syscalls\[0\]\.names: /],
    ["empty name", { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["getpid", ""], action: "SCMP_ACT_KILL" }] }, /^linux\.seccomp\.syscalls\[0\]\.names\[1\]: empty syscall name$/],
  ];
  for (const [what, s, re] of bad) {
    test(`${what} is a SeccompError naming the field`, () => {
      let err: unknown;
      try {
        compileSeccomp(s, () => {});
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SeccompError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain("\n");
    });
  }
});

describe("features", () => {
  test("lists the vocabulary the host can serve", () => {
    const f = seccompFeatures();
    expect(f.actions).toContain("SCMP_ACT_ERRNO");
    expect(f.actions).toContain("SCMP_ACT_NOTIFY");
    expect(f.operators).toHaveLength(7);
    expect(f.libseccompVersion).toMatch(/^2\.\d+\.\d+$/);
    expect(f.archs).toContain("SCMP_ARCH_X86_64");
    expect(f.archs).toContain("SCMP_ARCH_X32");
    expect(f.knownFlags).toEqual([
      "SECCOMP_FILTER_FLAG_TSYNC",
      "SECCOMP_FILTER_FLAG_LOG",
      "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
      "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
    ]);
    // a 6.x kernel has had all four since 5.19
    expect(f.supportedFlags).toEqual(f.knownFlags);
  });

  test("a spec architecture this libseccomp lacks is an error, not a silent drop", () => {
    const known: string[] = seccompFeatures().archs;
    for (const a of ["SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K", "SCMP_ARCH_SH"]) {
      const s: SeccompInput = { defaultAction: "SCMP_ACT_ALLOW", architectures: [a] };
      if (known.includes(a)) expect(compile(s).bpf.length).toBeGreaterThan(0);
      else expect(() => compileSeccomp(s, () => {})).toThrow(`linux.seccomp.architectures[0]: ${a} is not supported by this libseccomp`);
    }
  });

  test("every architecture listed compiles, or is refused for its byte order", () => {
    const bigEndian = /^SCMP_ARCH_(MIPS|MIPS64|MIPS64N32|PPC|PPC64|S390|S390X|PARISC|PARISC64|M68K|SHEB)$/;
    for (const a of seccompFeatures().archs) {
      const s: SeccompInput = { defaultAction: "SCMP_ACT_ALLOW", architectures: [a], syscalls: [{ names: ["getpid"], action: "SCMP_ACT_ERRNO" }] };
      if (bigEndian.test(a) === (endianness() === "LE")) {
        expect(() => compileSeccomp(s, () => {})).toThrow(`linux.seccomp.architectures[0]: ${a} cannot share a filter with the native architecture (byte order)`);
      } else {
        expect(compile(s).bpf.length).toBeGreaterThan(0);
      }
    }
  });
});

describe("speed", () => {
  test("a Docker-sized profile compiles in well under 100 ms", () => {
    compile(docker); // first call pays for dlopen
    const runs = 20;
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) compile(docker);
    const each = (performance.now() - t0) / runs;
    const names = docker.syscalls!.reduce((n, s) => n + s.names.length, 0);
    console.log(`compileSeccomp: ${names} syscall names, 3 architectures: ${each.toFixed(2)} ms per compile`);
    expect(each).toBeLessThan(100);
  });
});
