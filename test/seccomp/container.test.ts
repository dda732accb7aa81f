// Every seccomp action, through a real container: the filter the runtime compiles is
// the one the container's process runs under (config-linux.md "Seccomp").
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { makeBundle, output, runFg, scratchDir, useHarness, type Config } from "../lib/harness";

useHarness("seccomp-container");

const ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
// mkdir under /tmp, reporting the exit status; uname for the killing actions.
const MKDIR = ["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"];

function filter(action: string, names: string[], extra: Record<string, unknown> = {}) {
  return (c: Config) => {
    c.root.readonly = false;
    c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ARCHES, syscalls: [{ names, action, ...extra }] };
  };
}

test("SCMP_ACT_ALLOW as the rule lets the call through", async () => {
  // A rule equal to the default is dropped, so make the default deny and allow mkdir.
  const out = await output(
    makeBundle({
      args: ["/bin/busybox", "mkdir", "/tmp/x"],
      patch: (c) => {
        c.root.readonly = false;
        c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ARCHES, syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ALLOW" }, { names: ["rmdir"], action: "SCMP_ACT_ERRNO" }] };
      },
    }),
  );
  expect(out.trim()).toBe("");
});

test("SCMP_ACT_ERRNO returns errnoRet", async () => {
  expect(await output(makeBundle({ args: MKDIR, patch: filter("SCMP_ACT_ERRNO", ["mkdir", "mkdirat"], { errnoRet: 28 }) }))).toMatch(/no space left/i);
});

for (const action of ["SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"]) {
  test(`${action} ends the process with SIGSYS`, async () => {
    const r = await runFg(makeBundle({ args: ["uname"], patch: filter(action, ["uname"]) }));
    expect(r.code).toBe(128 + 31);
  });
}

test("SCMP_ACT_TRACE without a tracer fails the call with ENOSYS", async () => {
  expect(await output(makeBundle({ args: MKDIR, patch: filter("SCMP_ACT_TRACE", ["mkdir", "mkdirat"], { errnoRet: 1 }) }))).toMatch(/function not implemented|rc=1/i);
});

test("SCMP_ACT_LOG lets the call through", async () => {
  const out = await output(makeBundle({ args: MKDIR, patch: filter("SCMP_ACT_LOG", ["mkdir", "mkdirat"]) }));
  expect(out.trim()).toBe("rc=0");
});

test("defaultAction ERRNO with defaultErrnoRet applies to every call no rule allows", async () => {
  // The busybox binary is static: allow what it needs to start and print, nothing else.
  const allow = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "mprotect", "getuid", "geteuid",
    "getpid", "getppid", "write", "writev", "exit_group", "exit", "rt_sigaction", "rt_sigprocmask", "uname", "readlinkat", "mmap", "munmap",
    "getrandom", "ioctl", "fstat", "newfstatat", "statx", "close", "fcntl", "read", "open", "openat", "getcwd", "access", "faccessat", "faccessat2"];
  const r = await runFg(
    makeBundle({
      args: ["/bin/busybox", "mkdir", "/tmp/x"],
      patch: (c) => {
        c.root.readonly = false;
        c.linux.seccomp = { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: 30, architectures: ARCHES, syscalls: [{ names: allow, action: "SCMP_ACT_ALLOW" }] };
      },
    }),
  );
  expect(r.stdout + r.stderr).toMatch(/read-only file system/i);
  expect(r.code).not.toBe(0);
});

test("SCMP_ACT_NOTIFY: the listener reaches the agent at listenerPath with the state, and its answer is the call's result", async () => {
  const dir = scratchDir("notify");
  const sock = path.join(dir, "agent.sock");
  const log = path.join(dir, "agent.log");
  const agent = Bun.spawn(["python3", path.join(import.meta.dir, "notify-agent.py"), sock, "18", log], { stdout: "pipe", stderr: "inherit" });
  try {
    const reader = agent.stdout.getReader();
    await reader.read(); // "ready"
    const out = await output(
      makeBundle({
        args: MKDIR,
        patch: (c) => {
          c.root.readonly = false;
          c.linux.seccomp = {
            defaultAction: "SCMP_ACT_ALLOW",
            architectures: ARCHES,
            listenerPath: sock,
            listenerMetadata: "dxt-metadata",
            syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY" }],
          };
        },
      }),
    );
    expect(out).toMatch(/invalid cross-device link/i); // EXDEV = 18, the agent's answer
    const lines = fs.readFileSync(log, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    const hello = lines[0];
    expect(hello.nfds).toBe(1);
    expect(hello.msg.fds).toEqual(["seccompFd"]);
    expect(hello.msg.metadata).toBe("dxt-metadata");
    expect(typeof hello.msg.pid).toBe("number");
    expect(hello.msg.state.id).toMatch(/^dxt-/);
    expect(lines.some((l) => typeof l.syscall === "number")).toBe(true);
  } finally {
    agent.kill(9);
    await agent.exited;
  }
});

test("a syscall newer than the profile gets ENOSYS in the container, not the default action", async () => {
  const b = makeBundle({ args: ["/enosys-probe"] });
  const src = path.join(b.dir, "probe.c");
  fs.writeFileSync(
    src,
    `#include <errno.h>
#include <stdio.h>
#include <unistd.h>
int main(void) { long r = syscall(1000, 0, 0, 0); printf("ret=%ld errno=%d\\n", r, r < 0 ? errno : 0); return 0; }
`,
  );
  const cc = Bun.spawnSync(["gcc", "-static", "-O2", "-o", path.join(b.rootfs, "enosys-probe"), src]);
  expect(cc.exitCode).toBe(0);
  b.config.linux.seccomp = {
    defaultAction: "SCMP_ACT_ERRNO",
    architectures: ARCHES,
    syscalls: [
      {
        names: ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list", "rseq", "prlimit64", "mprotect", "readlink",
          "uname", "write", "newfstatat", "fstat", "exit_group", "exit", "getrandom", "openat", "close", "rt_sigaction"],
        action: "SCMP_ACT_ALLOW",
      },
    ],
  };
  b.write();
  expect((await output(b)).trim()).toBe("ret=-1 errno=38");
});

test("startContainer hooks run under the filter, as runc runs them", async () => {
  const b = makeBundle({ args: ["true"], patch: filter("SCMP_ACT_KILL", ["mkdir", "mkdirat"]) });
  b.config.hooks = { startContainer: [{ path: "/bin/sh", args: ["sh", "-c", "mkdir /tmp/foo"] }] };
  b.write();
  const r = await runFg(b);
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("error running hook #0 (startContainer, /bin/sh): signal: bad system call");
});

test("SCMP_ACT_NOTIFY without an agent listening: runc's words", async () => {
  const sock = path.join(scratchDir("noagent"), "agent.sock");
  const r = await runFg(
    makeBundle({
      args: ["true"],
      patch: (c) => {
        c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", architectures: ARCHES, listenerPath: sock, syscalls: [{ names: ["mkdir"], action: "SCMP_ACT_NOTIFY" }] };
      },
    }),
  );
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("failed to connect with seccomp agent specified in the seccomp profile");
});
