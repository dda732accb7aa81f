// config.md, "Process", "POSIX process", "Linux Process", "User", "Hostname".
import { expect } from "bun:test";
import fs from "node:fs";
import {
  allCaps,
  cite,
  fails,
  makeBundle,
  must,
  ok,
  output,
  runFg,
  useHarness,
  type Config,
} from "../test/lib/harness";

useHarness("process");

const run = (args: string[], patch?: (c: Config) => void) => output(makeBundle({ args, patch }));

/** Key/value lines of /proc/self/status as the container's process sees them. */
async function status(patch?: (c: Config) => void): Promise<Record<string, string>> {
  const out = await run(["cat", "/proc/self/status"], patch);
  return Object.fromEntries(
    out
      .split("\n")
      .filter((l) => l.includes(":"))
      .map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 1).trim()]),
  );
}

const CAP_NUM: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_ADMIN: 21,
  CAP_AUDIT_WRITE: 29,
};

function mask(caps: string[]): string {
  let m = 0n;
  for (const c of caps) m |= 1n << BigInt(CAP_NUM[c]!);
  return m.toString(16).padStart(16, "0");
}

must(
  "config.md",
  "**`args`** (array of strings, OPTIONAL) with similar semantics to IEEE Std 1003.1-2008 `execvp`'s *argv*.",
  async () => {
    const out = await run(["sh", "-c", 'for a in "$@"; do echo "[$a]"; done', "zero", "a b", "", "$HOME", "*", "'q'"]);
    expect(out).toBe("[a b]\n[]\n[$HOME]\n[*]\n['q']\n");
  },
);

must(
  "config.md",
  "This specification extends the IEEE standard in that at least one entry is REQUIRED (non-Windows), and that entry is used with the same semantics as `execvp`'s *file*.",
  async () => {
    // Found through the container's PATH, in the container's filesystem.
    const b = makeBundle({ args: ["dxt-hello", "x"] });
    b.file("opt/tools/dxt-hello", "#!/bin/sh\necho hello-from-path $1\n", 0o755);
    b.config.process.env = ["PATH=/nonexistent:/opt/tools:/bin"];
    b.write();
    expect(await output(b)).toBe("hello-from-path x\n");
  },
);

must(
  "config.md",
  "This specification extends the IEEE standard in that at least one entry is REQUIRED (non-Windows), and that entry is used with the same semantics as `execvp`'s *file*.",
  async () => {
    const b = makeBundle({ args: ["dxt-no-such-program"] });
    const r = await runFg(b);
    expect(r.code).not.toBe(0);
  },
  { title: "a program not found in PATH fails" },
);

must(
  "config.md",
  "**`env`** (array of strings, OPTIONAL) with the same semantics as IEEE Std 1003.1-2008's `environ`.",
  async () => {
    const env = ["PATH=/bin", "A=1", "B=two words", "EMPTY=", "HOME=/home/user", "EQ=a=b"];
    const out = await run(["cat", "/proc/self/environ"], (c) => (c.process.env = env));
    expect(out.split("\0").filter(Boolean).sort()).toEqual([...env].sort());
  },
);

must("config.md", "**`cwd`** (string, REQUIRED) is the working directory that will be set for the executable.", async () => {
  expect(await run(["pwd"], (c) => (c.process.cwd = "/home/user"))).toBe("/home/user\n");
});

must(
  "config.md",
  "This value MUST be an absolute path.",
  async () => {
    const b = makeBundle({ args: ["pwd"], patch: (c) => (c.process.cwd = "home/user") });
    fails(await runFg(b));
  },
  { title: "a relative cwd is refused (config.md, Valid values: runtimes MUST generate an error when invalid values are encountered)" },
);

must(
  "config.md",
  "**`uid`** (int, REQUIRED) specifies the user ID in the container namespace.",
  async () => {
    const s = await status((c) => (c.process.user = { uid: 1000, gid: 1000 }));
    expect(s.Uid!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
    expect(s.Gid!.split(/\s+/)).toEqual(["1000", "1000", "1000", "1000"]);
  },
);

must(
  "config.md",
  "**`gid`** (int, REQUIRED) specifies the group ID in the container namespace.",
  async () => {
    const s = await status((c) => (c.process.user = { uid: 0, gid: 1234 }));
    expect(s.Uid!.split(/\s+/)).toEqual(["0", "0", "0", "0"]);
    expect(s.Gid!.split(/\s+/)).toEqual(["1234", "1234", "1234", "1234"]);
  },
);

must(
  "config.md",
  "**`additionalGids`** (array of ints, OPTIONAL) specifies additional group IDs in the container namespace to be added to the process.",
  async () => {
    const s = await status((c) => (c.process.user = { uid: 1000, gid: 1000, additionalGids: [10, 20, 65534] }));
    expect(s.Groups!.split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b)).toEqual([10, 20, 65534]);
  },
);

must(
  "config.md",
  "**`umask`** (int, OPTIONAL) specifies the umask of the user.",
  async () => {
    expect(await run(["sh", "-c", "umask"], (c) => (c.process.user = { uid: 0, gid: 0, umask: 0o027 }))).toBe("0027\n");
    expect(await run(["sh", "-c", "umask"], (c) => (c.process.user = { uid: 0, gid: 0, umask: 0 }))).toBe("0000\n");
  },
);

must(
  "config.md",
  "`rlim.rlim_cur` MUST match the configured value.",
  async () => {
    const out = await run(["cat", "/proc/self/limits"], (c) => {
      c.process.rlimits = [
        { type: "RLIMIT_NOFILE", soft: 123, hard: 456 },
        { type: "RLIMIT_CORE", soft: 0, hard: 4096 },
        { type: "RLIMIT_NPROC", soft: 300, hard: 400 },
        { type: "RLIMIT_MSGQUEUE", soft: 1000, hard: 2000 },
      ];
    });
    const row = (name: string) => out.split("\n").find((l) => l.startsWith(name))!.slice(26).trim().split(/\s+/);
    expect(row("Max open files").slice(0, 2)).toEqual(["123", "456"]);
    expect(row("Max core file size").slice(0, 2)).toEqual(["0", "4096"]);
    expect(row("Max processes").slice(0, 2)).toEqual(["300", "400"]);
    expect(row("Max msgqueue size").slice(0, 2)).toEqual(["1000", "2000"]);
  },
  { title: "rlimits soft and hard (also: `rlim.rlim_max` MUST match the configured value.)" },
);

must(
  "config.md",
  "The runtime MUST generate an error for any values which cannot be mapped to a relevant kernel interface.",
  async () => {
    const b = makeBundle({ args: ["true"], patch: (c) => (c.process.rlimits = [{ type: "RLIMIT_BOGUS", soft: 1, hard: 1 }]) });
    fails(await runFg(b));
  },
  { title: "unknown rlimit type" },
);

must(
  "config.md",
  "If `rlimits` contains duplicated entries with same `type`, the runtime MUST generate an error.",
  async () => {
    const b = makeBundle({
      args: ["true"],
      patch: (c) =>
        (c.process.rlimits = [
          { type: "RLIMIT_NOFILE", soft: 100, hard: 100 },
          { type: "RLIMIT_NOFILE", soft: 200, hard: 200 },
        ]),
    });
    fails(await runFg(b));
  },
);

must(
  "config.md",
  "**`capabilities`** (object, OPTIONAL) is an object containing arrays that specifies the sets of capabilities for the process.",
  async () => {
    // For uid 0 the kernel makes effective equal permitted at execve, so the two are kept equal here.
    const s = await status((c) => {
      c.process.capabilities = {
        bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"],
        permitted: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        effective: ["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"],
        inheritable: ["CAP_KILL", "CAP_NET_RAW"],
        ambient: ["CAP_KILL"],
      };
    });
    expect(s.CapBnd).toBe(mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SETUID"]));
    expect(s.CapPrm).toBe(mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]));
    expect(s.CapEff).toBe(mask(["CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"]));
    expect(s.CapInh).toBe(mask(["CAP_KILL", "CAP_NET_RAW"]));
    expect(s.CapAmb).toBe(mask(["CAP_KILL"]));
  },
);

must(
  "config.md",
  "**`ambient`** (array of strings, OPTIONAL) the `ambient` field is an array of ambient capabilities that are kept for the process.",
  async () => {
    // A non-root user keeps its capabilities across execve only through the ambient set.
    const caps = ["CAP_CHOWN", "CAP_NET_BIND_SERVICE"];
    const s = await status((c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      allCaps(c, caps);
    });
    expect(s.CapEff).toBe(mask(caps));
    expect(s.CapPrm).toBe(mask(caps));
    expect(s.CapAmb).toBe(mask(caps));
  },
);

must(
  "config.md",
  "**`effective`** (array of strings, OPTIONAL) the `effective` field is an array of effective capabilities that are kept for the process.",
  async () => {
    // Capabilities matter: without CAP_CHOWN root can't chown, with it it can.
    const script = "touch /tmp/f && chown 1000 /tmp/f && echo chowned";
    const patch = (caps: string[]) => (c: Config) => {
      c.root.readonly = false;
      allCaps(c, caps);
    };
    expect(await run(["sh", "-c", script], patch(["CAP_CHOWN"]))).toBe("chowned\n");
    const r = await runFg(makeBundle({ args: ["sh", "-c", script], patch: patch(["CAP_KILL"]) }));
    expect(r.code).not.toBe(0);
    expect(r.stdout).not.toContain("chowned");
  },
);

must(
  "config.md",
  "Any value which cannot be mapped to a relevant kernel interface, or cannot be granted otherwise MUST be logged as a warning by the runtime.",
  async () => {
    const b = makeBundle({
      args: ["true"],
      patch: (c) => allCaps(c, ["CAP_CHOWN", "CAP_DXT_BOGUS"]),
    });
    const r = await runFg(b);
    // "Runtimes SHOULD NOT fail if the container configuration requests capabilities that cannot be granted"
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("CAP_DXT_BOGUS");
  },
);

cite(
  "config.md",
  "**`noNewPrivileges`** (bool, OPTIONAL) setting `noNewPrivileges` to true prevents the process from gaining additional privileges.",
  async () => {
    expect((await status((c) => (c.process.noNewPrivileges = true))).NoNewPrivs).toBe("1");
    expect((await status((c) => (c.process.noNewPrivileges = false))).NoNewPrivs).toBe("0");
  },
);

must(
  "config.md",
  "If `oomScoreAdj` is set, the runtime MUST set `oom_score_adj` to the given value.",
  async () => {
    expect(await run(["cat", "/proc/self/oom_score_adj"], (c) => (c.process.oomScoreAdj = 500))).toBe("500\n");
    // Only raised: lowering needs CAP_SYS_RESOURCE, which the test host may not grant the runtime.
    expect(await run(["cat", "/proc/self/oom_score_adj"], (c) => (c.process.oomScoreAdj = 1000))).toBe("1000\n");
  },
);

must(
  "config.md",
  "If `oomScoreAdj` is not set, the runtime MUST NOT change the value of `oom_score_adj`.",
  async () => {
    const mine = fs.readFileSync("/proc/self/oom_score_adj", "utf8");
    expect(await run(["cat", "/proc/self/oom_score_adj"], (c) => delete c.process.oomScoreAdj)).toBe(mine);
  },
);

cite(
  "config.md",
  "**`hostname`** (string, OPTIONAL) specifies the container's hostname as seen by processes running inside the container.",
  async () => {
    expect(await run(["hostname"], (c) => (c.hostname = "dxt-host-name"))).toBe("dxt-host-name\n");
  },
);

cite(
  "config.md",
  "**`domainname`** (string, OPTIONAL) specifies the container's domainname as seen by processes running inside the container.",
  async () => {
    const out = await run(["cat", "/proc/sys/kernel/domainname"], (c) => (c.domainname = "dxt.example"));
    expect(out).toBe("dxt.example\n");
  },
  { runcDeviates: "runc 1.1 parses domainname but never sets it" },
);

must("config.md", "Runtimes MUST ignore `consoleSize` if `terminal` is `false` or unset.", async () => {
  const out = await run(["sh", "-c", "[ -t 1 ] && echo tty || echo notty"], (c) => {
    c.process.terminal = false;
    c.process.consoleSize = { height: 10, width: 20 };
  });
  expect(out).toBe("notty\n");
});

cite(
  "config.md",
  "**`terminal`** (bool, OPTIONAL) specifies whether a terminal is attached to the process, defaults to false.",
  async () => {
    const out = await run(["sh", "-c", "for f in 0 1 2; do [ -t $f ] && echo tty || echo notty; done"], (c) => {
      delete c.process.terminal;
    });
    expect(out).toBe("notty\nnotty\nnotty\n");
  },
);
