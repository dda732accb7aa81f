// The exported programs installed in real processes: what the kernel does is the proof.
import { beforeAll, describe, expect, test } from "bun:test";
import { compileSeccomp, type SeccompInput } from "../../src/seccomp";
import { buildLoader, fixture, runFiltered } from "./harness";
import { useHarness } from "../lib/harness";


const EPERM = 1;
const ENOSYS = 38;
const EXDEV = 18;
const ENOMSG = 42;
const PRIO_PROCESS = 0;

const compile = (s: SeccompInput) => compileSeccomp(s, () => {});
const one = (action: string, extra: { errnoRet?: number } = {}) =>
  compile({ defaultAction: "SCMP_ACT_ALLOW", flags: [], syscalls: [{ names: ["getppid"], action, ...extra }] });

// What seccomp-run itself does after the filter is in: print, exit.
const LOADER_NEEDS = [
  {
    names: ["write", "fstat", "newfstatat", "exit_group", "exit", "getpid", "brk", "mmap", "munmap", "rt_sigreturn"],
    action: "SCMP_ACT_ALLOW",
  },
];

beforeAll(() => {
  buildLoader();
});

describe("actions in the kernel", () => {
  test("without a rule the call goes through", () => {
    const r = runFiltered(one("SCMP_ACT_ERRNO"), "getpid");
    expect(r.signal).toBeNull();
    expect(r.ret).toBeGreaterThan(0);
    expect(r.errno).toBe(0);
  });

  test("ERRNO fails the call with EPERM by default", () => {
    const r = runFiltered(one("SCMP_ACT_ERRNO"), "getppid");
    expect(r).toMatchObject({ ret: -1, errno: EPERM, signal: null });
  });

  test("ERRNO fails the call with its errnoRet", () => {
    const r = runFiltered(one("SCMP_ACT_ERRNO", { errnoRet: ENOMSG }), "getppid");
    expect(r).toMatchObject({ ret: -1, errno: ENOMSG });
  });

  test("errnoRet 0 makes the call return 0 without running", () => {
    const r = runFiltered(one("SCMP_ACT_ERRNO", { errnoRet: 0 }), "getppid");
    expect(r).toMatchObject({ ret: 0, errno: 0 });
  });

  for (const action of ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"]) {
    test(`${action} ends the process with SIGSYS`, () => {
      const r = runFiltered(one(action), "getppid");
      expect(r.signal).toBe("SIGSYS");
      expect(r.ret).toBeUndefined();
    });
  }

  test("ALLOW and LOG let the call run", () => {
    for (const action of ["SCMP_ACT_ALLOW", "SCMP_ACT_LOG"]) {
      const c = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", flags: [], syscalls: [{ names: ["getppid"], action }, ...LOADER_NEEDS] });
      const r = runFiltered(c, "getppid");
      expect(r.signal).toBeNull();
      expect(r.ret).toBeGreaterThan(0);
    }
  });

  test("TRACE without a tracer fails the call with ENOSYS", () => {
    const r = runFiltered(one("SCMP_ACT_TRACE", { errnoRet: 7 }), "getppid");
    expect(r).toMatchObject({ ret: -1, errno: ENOSYS });
  });

  test("NOTIFY hands the call to the listener, whose answer the caller gets", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      listenerPath: "/unused.sock",
      flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
      syscalls: [{ names: ["getppid"], action: "SCMP_ACT_NOTIFY" }],
    });
    const r = runFiltered(c, "getppid", [], "notify");
    expect(r.notified).toBe("getppid");
    expect(r).toMatchObject({ ret: -1, errno: EXDEV });
  });

  test("a default KILL kills any call the profile does not list", () => {
    const c = compile({ defaultAction: "SCMP_ACT_KILL_PROCESS", flags: [], syscalls: LOADER_NEEDS });
    expect(runFiltered(c, "getppid").signal).toBe("SIGSYS");
    expect(runFiltered(c, "getpid").signal).toBeNull();
  });

  test("every flag the features report is accepted by seccomp(2) with the program", () => {
    const c = compile({ defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW", "SECCOMP_FILTER_FLAG_TSYNC"], syscalls: [{ names: ["getppid"], action: "SCMP_ACT_ERRNO" }] });
    const r = runFiltered(c, "getppid");
    expect(r.exitCode).toBe(0);
    expect(r).toMatchObject({ ret: -1, errno: EPERM });
  });
});

describe("argument conditions in the kernel", () => {
  test("EQ matches only the given value", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getpriority"], action: "SCMP_ACT_ERRNO", errnoRet: ENOMSG, args: [{ index: 1, value: 4242, op: "SCMP_CMP_EQ" }] }],
    });
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 4242])).toMatchObject({ ret: -1, errno: ENOMSG });
    // who=0 is this process: a real priority comes back
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 0]).errno).toBe(0);
  });

  test("conditions on different arguments must all hold", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["getpriority"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: ENOMSG,
          args: [
            { index: 0, value: PRIO_PROCESS, op: "SCMP_CMP_EQ" },
            { index: 1, value: 4242, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 4242]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 0]).errno).toBe(0);
    expect(runFiltered(c, "getpriority", [1, 4242]).errno).not.toBe(ENOMSG);
  });

  test("two conditions on one argument match either value", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["getpriority"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: ENOMSG,
          args: [
            { index: 1, value: 4242, op: "SCMP_CMP_EQ" },
            { index: 1, value: 4343, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 4242]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 4343]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 0]).errno).toBe(0);
  });

  test("once one argument repeats, every condition of the entry stands alone (as in runc)", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [
        {
          names: ["getpriority"],
          action: "SCMP_ACT_ERRNO",
          errnoRet: ENOMSG,
          args: [
            { index: 1, value: 4242, op: "SCMP_CMP_EQ" },
            { index: 1, value: 4343, op: "SCMP_CMP_EQ" },
            { index: 0, value: 2, op: "SCMP_CMP_EQ" },
          ],
        },
      ],
    });
    expect(runFiltered(c, "getpriority", [2, 0]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 4343]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [PRIO_PROCESS, 0]).errno).toBe(0);
  });

  test("MASKED_EQ compares the masked argument with valueTwo", () => {
    // personality(0xffffffff) only queries; persona 0x0008 with the low byte masked is refused
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["personality"], action: "SCMP_ACT_ERRNO", errnoRet: ENOMSG, args: [{ index: 0, value: 0xff, valueTwo: 0x08, op: "SCMP_CMP_MASKED_EQ" }] }],
    });
    expect(runFiltered(c, "personality", [0x0408]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "personality", [0xffffffff])).toMatchObject({ errno: 0 });
  });

  test("NE, LT, LE, GE, GT draw their boundary where they should", () => {
    const cases: [string, number, number[], number[]][] = [
      ["SCMP_CMP_NE", 5000, [4999, 5001], [5000]],
      ["SCMP_CMP_LT", 5000, [4999], [5000, 5001]],
      ["SCMP_CMP_LE", 5000, [4999, 5000], [5001]],
      ["SCMP_CMP_GE", 5000, [5000, 5001], [4999]],
      ["SCMP_CMP_GT", 5000, [5001], [4999, 5000]],
    ];
    for (const [op, value, blocked, passed] of cases) {
      const c = compile({
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["getpriority"], action: "SCMP_ACT_ERRNO", errnoRet: ENOMSG, args: [{ index: 1, value, op }] }],
      });
      for (const who of blocked) expect({ op, who, errno: runFiltered(c, "getpriority", [1, who]).errno }).toEqual({ op, who, errno: ENOMSG });
      for (const who of passed) expect(runFiltered(c, "getpriority", [1, who]).errno).not.toBe(ENOMSG);
    }
  });

  test("a comparison uses all 64 bits of the argument", () => {
    const c = compile({
      defaultAction: "SCMP_ACT_ALLOW",
      syscalls: [{ names: ["getpriority"], action: "SCMP_ACT_ERRNO", errnoRet: ENOMSG, args: [{ index: 1, value: 0x100000001n, op: "SCMP_CMP_EQ" }] }],
    });
    expect(runFiltered(c, "getpriority", [1, "0x100000001"]).errno).toBe(ENOMSG);
    expect(runFiltered(c, "getpriority", [1, 1]).errno).not.toBe(ENOMSG);
  });
});

describe("syscalls newer than the profile get ENOSYS", () => {
  const X86 = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
  const profile = (defaultAction: string, architectures?: string[]): SeccompInput => ({
    defaultAction,
    ...(architectures ? { architectures } : {}),
    syscalls: [...LOADER_NEEDS, { names: ["getppid"], action: "SCMP_ACT_ALLOW" }],
  });

  test("above the highest syscall named: ENOSYS; below it: the default action", () => {
    const c = compile(profile("SCMP_ACT_ERRNO", X86));
    expect(runFiltered(c, "1000")).toMatchObject({ ret: -1, errno: ENOSYS, signal: null });
    expect(runFiltered(c, "getuid")).toMatchObject({ ret: -1, errno: EPERM });
    expect(runFiltered(c, "getppid").errno).toBe(0);
  });

  test("a default that kills still answers an unknown syscall with ENOSYS", () => {
    const c = compile(profile("SCMP_ACT_KILL_PROCESS", X86));
    expect(runFiltered(c, "1000")).toMatchObject({ ret: -1, errno: ENOSYS, signal: null });
    expect(runFiltered(c, "getuid").signal).toBe("SIGSYS");
  });

  test("x32 numbers are measured against the x32 syscalls named", () => {
    const c = compile(profile("SCMP_ACT_ERRNO", X86));
    expect(runFiltered(c, String(0x40000000 + 1000))).toMatchObject({ ret: -1, errno: ENOSYS });
  });

  test("without architectures listed there is no limit to measure: the default action (as runc)", () => {
    expect(runFiltered(compile(profile("SCMP_ACT_ERRNO")), "1000")).toMatchObject({ ret: -1, errno: EPERM });
  });
});

describe("a Docker-like profile in the kernel", () => {
  const docker = fixture("docker-like.json") as SeccompInput;
  const c = compileSeccomp(docker, () => {});

  test("listed calls run, unlisted ones get the default errno, clone3 gets ENOSYS", () => {
    expect(runFiltered(c, "uname", ["buf"])).toMatchObject({ ret: 0, errno: 0, signal: null });
    expect(runFiltered(c, "getpid").errno).toBe(0);
    // personality is allowed only for the listed personas
    expect(runFiltered(c, "personality", [0xffffffff]).errno).toBe(0);
    expect(runFiltered(c, "personality", [0x0400000])).toMatchObject({ ret: -1, errno: EPERM });
    expect(runFiltered(c, "clone3", [0, 0])).toMatchObject({ ret: -1, errno: ENOSYS });
  });
});

// The suite-wide leak check after every test, as for every other test file. Registered
// last, so that it runs after this file's own cleanup hooks.
useHarness("seccomp-filter");
