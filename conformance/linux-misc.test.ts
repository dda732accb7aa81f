// config-linux.md: "Control groups" (path, resources, device allowlist), "Seccomp",
// "Personality"; config.md Linux process: scheduler, ioPriority.
import { expect } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  cgroupRoots,
  cite,
  create,
  destroy,
  fails,
  makeBundle,
  must,
  ok,
  output,
  rt,
  runFg,
  state,
  uniqueId,
  useHarness,
  type Config,
} from "../test/lib/harness";

useHarness("linux-misc");

const run = (args: string[], patch?: (c: Config) => void) => output(makeBundle({ args, patch }));

/** Mount point of the v1 hierarchy holding `controller`, if this host has one. */
function v1Hierarchy(controller: string): string | undefined {
  return cgroupRoots().find((r) => path.basename(r).split(",").includes(controller));
}

must(
  "config-linux.md",
  "In the case of an absolute path (starting with `/`), the runtime MUST take the path to be relative to the cgroups mount point.",
  async () => {
    const id = uniqueId();
    const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => (c.linux.cgroupsPath = `/${id}/inner`) });
    await create(b, id);
    try {
      const { pid } = await state(id);
      let checked = 0;
      for (const ctrl of ["memory", "pids", "cpu", "devices", "freezer"]) {
        const root = v1Hierarchy(ctrl);
        if (!root) continue;
        const procs = fs.readFileSync(path.join(root, id, "inner", "cgroup.procs"), "utf8");
        expect(procs.split("\n")).toContain(String(pid));
        checked++;
      }
      const unified = cgroupRoots().find((r) => fs.existsSync(path.join(r, "cgroup.controllers")));
      if (unified && checked === 0) {
        expect(fs.readFileSync(path.join(unified, id, "inner", "cgroup.procs"), "utf8").split("\n")).toContain(String(pid));
        checked++;
      }
      expect(checked).toBeGreaterThan(0);
    } finally {
      await destroy(id);
      // The parent dir named after the id is ours to remove; the leak checker insists.
      for (const r of cgroupRoots()) {
        try {
          fs.rmdirSync(path.join(r, id));
        } catch {}
      }
    }
  },
);

must(
  "config-linux.md",
  "If the value is specified, the runtime MUST consistently attach to the same place in the cgroups hierarchy given the same value of `cgroupsPath`.",
  async () => {
    const id = uniqueId();
    const b = makeBundle({
      args: ["cat", "/proc/self/cgroup"],
      patch: (c) => {
        c.linux.cgroupsPath = `/${id}`;
        c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== "cgroup");
      },
    });
    const first = await output(b);
    const second = await output(b);
    expect(first).toBe(second);
    expect(first).toContain(`/${id}`);
  },
);

must(
  "config-linux.md",
  "You can configure a container's cgroups via the `resources` field of the Linux configuration.",
  async () => {
    const mem = v1Hierarchy("memory");
    const pids = v1Hierarchy("pids");
    const id = uniqueId();
    const b = makeBundle({
      args: ["sleep", "1000"],
      patch: (c) => {
        c.linux.cgroupsPath = `/${id}`;
        c.linux.resources.memory = { limit: 64 * 1024 * 1024 };
        c.linux.resources.pids = { limit: 42 };
      },
    });
    await create(b, id);
    try {
      if (mem) expect(fs.readFileSync(path.join(mem, id, "memory.limit_in_bytes"), "utf8").trim()).toBe(String(64 * 1024 * 1024));
      if (pids) expect(fs.readFileSync(path.join(pids, id, "pids.max"), "utf8").trim()).toBe("42");
    } finally {
      await destroy(id);
    }
  },
  { title: "memory.limit and pids.limit reach the cgroup files" },
);

must(
  "config-linux.md",
  "You can configure a container's cgroups via the `resources` field of the Linux configuration.",
  async () => {
    // Enforced, not just written: with pids.limit 6 the shell gets at most 5 children and
    // then dies of a failed fork.
    const b = makeBundle({
      args: ["sh", "-c", "i=0; while [ $i -lt 20 ]; do sleep 5 & i=$((i+1)); echo started=$i; done"],
      patch: (c) => (c.linux.resources.pids = { limit: 6 }),
    });
    const r = await runFg(b);
    const started = Math.max(0, ...[...r.stdout.matchAll(/started=(\d+)/g)].map((m) => Number(m[1])));
    expect(started).toBeGreaterThan(0);
    expect(started).toBeLessThanOrEqual(5);
    expect(r.code).not.toBe(0);
  },
  { title: "pids.limit is enforced" },
);

must(
  "config-linux.md",
  "**`devices`** (array of objects, OPTIONAL) lists devices that MUST be available in the container.",
  async () => {
    // A node for a char device no driver has (241:7): opening it is refused by the device
    // cgroup (EPERM) unless allowed, and then fails in the kernel instead (ENXIO).
    const script = "head -c1 /dev/dxt-dev 2>&1 >/dev/null | grep -o -i -E 'not permitted|no such device or address' | head -1";
    const patch = (allow: boolean) => (c: Config) => {
      c.linux.devices = [{ path: "/dev/dxt-dev", type: "c", major: 241, minor: 7, fileMode: 0o600 }];
      if (allow) c.linux.resources.devices.push({ allow: true, type: "c", major: 241, minor: 7, access: "rwm" });
    };
    expect((await run(["sh", "-c", script], patch(false))).trim().toLowerCase()).toBe("not permitted");
    expect((await run(["sh", "-c", script], patch(true))).trim().toLowerCase()).toBe("no such device or address");
  },
  { title: "device allowlist (config-linux.md: Allowed Device List)" },
);

must(
  "config-linux.md",
  "Seccomp configuration allows one to configure actions to take for matched syscalls and furthermore also allows matching on values passed as arguments to syscalls.",
  async () => {
    const out = await run(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"], (c) => {
      c.root.readonly = false;
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 13 }],
      };
    });
    expect(out).toMatch(/permission denied/i);
    expect(out).toContain("rc=1");
  },
  { title: "seccomp ERRNO with errnoRet" },
);

must(
  "config-linux.md",
  "The default is `EPERM`.",
  async () => {
    const out = await run(["sh", "-c", "mkdir /tmp/x 2>&1; echo rc=$?"], (c) => {
      c.root.readonly = false;
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [{ names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO" }],
      };
    });
    expect(out).toMatch(/not permitted/i);
  },
  { title: "seccomp errnoRet defaults to EPERM" },
);

must(
  "config-linux.md",
  "Seccomp configuration allows one to configure actions to take for matched syscalls and furthermore also allows matching on values passed as arguments to syscalls.",
  async () => {
    // uname(2) killed: the program dies of SIGSYS, so run exits 128+31.
    const b = makeBundle({
      args: ["uname", "-a"],
      patch: (c) =>
        (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action: "SCMP_ACT_KILL_PROCESS" }] }),
    });
    const r = await runFg(b);
    expect(r.code).toBe(128 + 31);
  },
  { title: "seccomp KILL_PROCESS" },
);

must(
  "config-linux.md",
  "Seccomp configuration allows one to configure actions to take for matched syscalls and furthermore also allows matching on values passed as arguments to syscalls.",
  async () => {
    // personality(2) refused only for one argument value.
    const out = await run(["sh", "-c", "uname -m; setarch linux32 uname -m 2>&1 || echo refused"], (c) => {
      c.linux.seccomp = {
        defaultAction: "SCMP_ACT_ALLOW",
        syscalls: [
          { names: ["personality"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 8, op: "SCMP_CMP_EQ" }] },
        ],
      };
    });
    expect(out.split("\n")[0]).toBe("x86_64");
    expect(out).toContain("refused");
  },
  { title: "seccomp argument match" },
);

must(
  "config-linux.md",
  "When the action doesn't support an errno, the runtime MUST print and error and fail.",
  async () => {
    const b = makeBundle({
      args: ["true"],
      patch: (c) =>
        (c.linux.seccomp = {
          defaultAction: "SCMP_ACT_ALLOW",
          syscalls: [{ names: ["uname"], action: "SCMP_ACT_KILL_PROCESS", errnoRet: 5 }],
        }),
    });
    fails(await runFg(b));
  },
  { runcDeviates: "runc 1.1 ignores errnoRet on actions that can't return one" },
);

must(
  "config-linux.md",
  "Runtimes MUST generate an error when invalid or unsupported values are encountered.",
  async () => {
    for (const seccomp of [
      { defaultAction: "SCMP_ACT_DXT_BOGUS" },
      { defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_DXT"] },
      { defaultAction: "SCMP_ACT_ALLOW", syscalls: [{ names: ["uname"], action: "SCMP_ACT_ERRNO", args: [{ index: 0, value: 1, op: "SCMP_CMP_DXT" }] }] },
    ]) {
      fails(await runFg(makeBundle({ args: ["true"], patch: (c) => (c.linux.seccomp = seccomp) })));
    }
  },
  { title: "invalid seccomp action, arch and operator (config.md, Valid values)" },
);

cite(
  "config-linux.md",
  "**`personality`** (object, OPTIONAL) sets the Linux execution personality.",
  async () => {
    expect(await run(["uname", "-m"], (c) => (c.linux.personality = { domain: "LINUX32" }))).toBe("i686\n");
    expect(await run(["uname", "-m"], (c) => (c.linux.personality = { domain: "LINUX" }))).toBe("x86_64\n");
  },
  { runcDeviates: "runc 1.1 does not support personality" },
);

cite(
  "config.md",
  "**`ioPriority`** (object, OPTIONAL) configures the I/O priority settings for the container's processes within the process group.",
  async () => {
    const out = await run(["ionice", "-p", "1"], (c) => (c.process.ioPriority = { class: "IOPRIO_CLASS_BE", priority: 6 }));
    expect(out).toBe("best-effort: prio 6\n");
  },
  { runcDeviates: "runc 1.1 does not support ioPriority" },
);

cite(
  "config.md",
  "**`scheduler`** (object, OPTIONAL) is an object describing the scheduler properties for the process.",
  async () => {
    // /proc/self/stat field 19 is the nice value; /proc/self/sched names the policy where the kernel has it.
    const out = await run(["sh", "-c", "cut -d' ' -f19 /proc/self/stat; grep '^policy' /proc/self/sched 2>/dev/null | tr -d ' '"], (c) => {
      c.process.scheduler = { policy: "SCHED_BATCH", nice: 7 };
    });
    const [nice, policy] = out.split("\n");
    expect(nice).toBe("7");
    if (policy) expect(policy).toBe("policy:3");
  },
  { runcDeviates: "runc 1.1 does not support scheduler" },
);

must(
  "runtime.md",
  "If the runtime cannot apply a property as specified in the configuration, it MUST generate an error and a new container MUST NOT be created.",
  async () => {
    // A limit the kernel rejects (below what the cgroup already uses is fine to ask; zero isn't).
    const id = uniqueId();
    const b = makeBundle({ args: ["true"], patch: (c) => (c.linux.resources.cpu = { shares: 1, quota: 1000, period: 1 }) });
    fails(await rt(["create", "--bundle", b.dir, id]));
    fails(await rt(["state", id]));
  },
  { title: "an impossible cgroup value fails create" },
);

must("config-linux.md", "Runtimes MAY consider certain `cgroupsPath` values to be invalid, and MUST generate an error if this is the case.", async () => {
  // Escaping the hierarchy with .. is never valid.
  const id = uniqueId();
  const b = makeBundle({ args: ["true"], patch: (c) => (c.linux.cgroupsPath = `/../../${id}`) });
  const r = await rt(["create", "--bundle", b.dir, id]);
  if (r.code === 0) {
    // Accepted: then it must have been kept inside the hierarchy.
    for (const root of cgroupRoots()) expect(fs.existsSync(path.join(path.dirname(root), id))).toBe(false);
    ok(await rt(["delete", "--force", id]));
  } else {
    fails(r);
    fails(await rt(["state", id]));
  }
});

must(
  "config.md",
  "**`execCPUAffinity`** (object, OPTIONAL) specifies CPU affinity used to execute the process.",
  async () => {
    // final: the CPUs the program itself runs on
    const out = await run(["grep", "Cpus_allowed_list", "/proc/self/status"], (c) => (c.process.execCPUAffinity = { initial: "0", final: "1" }));
    expect(out).toMatch(/Cpus_allowed_list:\s*1\s*$/);
    // an impossible list is an error, and no container is left
    const id = uniqueId();
    const b = makeBundle({ args: ["true"], patch: (c) => (c.process.execCPUAffinity = { final: "1-0" }) });
    fails(await rt(["create", "--bundle", b.dir, id]));
    fails(await rt(["state", id]));
  },
  { title: "execCPUAffinity final", runcDeviates: "runc 1.1 does not support execCPUAffinity" },
);
