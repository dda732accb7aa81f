// config.md, "Root", "Mounts", "Extensibility", "Valid values".
import { expect } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  cite,
  fails,
  makeBundle,
  must,
  output,
  runFg,
  scratchDir,
  useHarness,
  type Config,
} from "../test/lib/harness";

useHarness("root-mounts");

const run = (args: string[], patch?: (c: Config) => void) => output(makeBundle({ args, patch }));

/** The mountinfo line for a mount point inside the container. */
function mountLine(mountinfo: string, where: string): string[] {
  const lines = mountinfo.split("\n").filter((l) => l.split(" ")[4] === where);
  if (!lines.length) throw new Error(`no mount at ${where} in:\n${mountinfo}`);
  return lines[lines.length - 1]!.split(" ");
}

/** Per-mount options (field 6) of the topmost mount at `where`. */
function mountOpts(mountinfo: string, where: string): string[] {
  return mountLine(mountinfo, where)[5]!.split(",");
}

/** Optional fields (shared:N, master:N, unbindable) of the topmost mount at `where`. */
function propagation(mountinfo: string, where: string): string[] {
  const f = mountLine(mountinfo, where);
  return f.slice(6, f.indexOf("-"));
}

function sh(cmd: string[]): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
}

must(
  "config.md",
  "On POSIX platforms, `path` is either an absolute path or a relative path to the bundle.",
  async () => {
    const rel = makeBundle({ args: ["cat", "/etc/hostname"] });
    expect(await output(rel)).toBe("dxt\n");
    const abs = makeBundle({ args: ["cat", "/marker"] });
    abs.file("marker", "absolute\n");
    abs.config.root.path = abs.rootfs;
    abs.write();
    // Run from elsewhere so a relative lookup could not find it by accident.
    expect(await output(abs, { cwd: "/" })).toBe("absolute\n");
  },
);

must(
  "config.md",
  "On POSIX platforms, `path` is either an absolute path or a relative path to the bundle.",
  async () => {
    // The relative path is resolved against the bundle, not the runtime's working directory.
    const b = makeBundle({ args: ["cat", "/marker"] });
    b.file("marker", "from-bundle\n");
    expect(await output(b, { cwd: "/tmp" })).toBe("from-bundle\n");
  },
  { title: "relative root.path is relative to the bundle" },
);

must("config.md", "A directory MUST exist at the path declared by the field.", async () => {
  const b = makeBundle({ args: ["true"], noRootfs: true });
  fails(await runFg(b));
});

must(
  "config.md",
  "**`readonly`** (bool, OPTIONAL) If true then the root filesystem MUST be read-only inside the container, defaults to false.",
  async () => {
    const script = "touch /newfile 2>/dev/null && echo wrote || echo refused; grep -E '^[0-9]+ [0-9]+ [^ ]+ [^ ]+ / ' /proc/self/mountinfo | cut -d' ' -f6";
    const ro = await run(["sh", "-c", script], (c) => (c.root.readonly = true));
    expect(ro.split("\n")[0]).toBe("refused");
    expect(ro.split("\n")[1]!.split(",")).toContain("ro");
    const rw = await run(["sh", "-c", script], (c) => delete c.root.readonly);
    expect(rw.split("\n")[0]).toBe("wrote");
  },
);

must("config.md", "The runtime MUST mount entries in the listed order.", async () => {
  const b = makeBundle({ args: ["cat", "/m/which"] });
  const first = path.join(b.dir, "first");
  const second = path.join(b.dir, "second");
  for (const [d, name] of [
    [first, "first"],
    [second, "second"],
  ] as const) {
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, "which"), name + "\n");
  }
  // Two mounts on one point: the later one must be on top.
  b.config.mounts.push(
    { destination: "/m", type: "bind", source: first, options: ["bind", "ro"] },
    { destination: "/m", type: "bind", source: second, options: ["bind", "ro"] },
  );
  b.write();
  expect(await output(b)).toBe("second\n");
  b.config.mounts.splice(-2, 2, b.config.mounts.at(-1), b.config.mounts.at(-2));
  b.write();
  expect(await output(b)).toBe("first\n");
});

must(
  "config.md",
  "The runtime MUST mount entries in the listed order.",
  async () => {
    // A mount nested inside an earlier one: both must be there, the inner on top.
    const out = await run(["sh", "-c", "cut -d' ' -f5 /proc/self/mountinfo | grep '^/a'"], (c) => {
      c.mounts.push(
        { destination: "/a", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
        { destination: "/a/b", type: "tmpfs", source: "tmpfs", options: ["size=1m"] },
      );
    });
    expect(out).toBe("/a\n/a/b\n");
  },
  { title: "nested mounts" },
);

must(
  "config.md",
  'For compatibility with old tools and configurations, it MAY be a relative path, in which case it MUST be interpreted as relative to "/".',
  async () => {
    const out = await run(["sh", "-c", "cut -d' ' -f5 /proc/self/mountinfo | grep '^/reldest$'"], (c) => {
      c.mounts.push({ destination: "reldest", type: "tmpfs", source: "tmpfs", options: ["size=1m"] });
    });
    expect(out).toBe("/reldest\n");
  },
);

const FLAG_OPTIONS: [string, string][] = [
  ["ro", "ro"],
  ["rw", "rw"],
  ["nosuid", "nosuid"],
  ["nodev", "nodev"],
  ["noexec", "noexec"],
  ["noatime", "noatime"],
  ["nodiratime", "nodiratime"],
  ["relatime", "relatime"],
];

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    const mounts = FLAG_OPTIONS.map(([opt], i) => ({
      destination: `/opt${i}`,
      type: "tmpfs",
      source: "tmpfs",
      options: [opt, "size=1m"],
    }));
    const mi = await run(["cat", "/proc/self/mountinfo"], (c) => c.mounts.push(...mounts));
    FLAG_OPTIONS.forEach(([opt, shown], i) => {
      expect({ opt, has: mountOpts(mi, `/opt${i}`).includes(shown) }).toEqual({ opt, has: true });
    });
    // Opposites cancel: the later option wins, as with mount(8).
    const mi2 = await run(["cat", "/proc/self/mountinfo"], (c) =>
      c.mounts.push(
        { destination: "/x1", type: "tmpfs", source: "tmpfs", options: ["ro", "rw", "nosuid", "suid", "exec"] },
        { destination: "/x2", type: "tmpfs", source: "tmpfs", options: ["noexec", "dev", "nodev"] },
      ),
    );
    expect(mountOpts(mi2, "/x1")).toContain("rw");
    expect(mountOpts(mi2, "/x1")).not.toContain("nosuid");
    expect(mountOpts(mi2, "/x2")).toEqual(expect.arrayContaining(["rw", "noexec", "nodev"]));
  },
  { title: "per-mount flags ro rw nosuid nodev noexec noatime nodiratime relatime suid exec dev" },
);

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    const mi = await run(["cat", "/proc/self/mountinfo"], (c) =>
      c.mounts.push({ destination: "/d", type: "tmpfs", source: "tmpfs", options: ["defaults", "nodev"] }),
    );
    expect(mountOpts(mi, "/d")).toEqual(expect.arrayContaining(["rw", "nodev"]));
  },
  { title: "defaults", runcDeviates: "runc 1.1 passes `defaults` to the filesystem as data, which tmpfs rejects" },
);

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    // The behaviour behind the flags, not just their names.
    const out = await run(
      [
        "sh",
        "-c",
        "cp /bin/busybox /x/bb; /x/bb true 2>/dev/null && echo exec-ok || echo exec-refused; " +
          "touch /r/f 2>/dev/null && echo write-ok || echo write-refused",
      ],
      (c) =>
        c.mounts.push(
          { destination: "/x", type: "tmpfs", source: "tmpfs", options: ["noexec", "size=4m"] },
          { destination: "/r", type: "tmpfs", source: "tmpfs", options: ["ro", "size=1m"] },
        ),
    );
    expect(out).toBe("exec-refused\nwrite-refused\n");
  },
  { title: "noexec and ro take effect" },
);

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    // bind vs rbind: only rbind carries the submounts of the source along.
    const src = scratchDir("src");
    fs.mkdirSync(path.join(src, "sub"));
    sh(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path.join(src, "sub")]);
    try {
      fs.writeFileSync(path.join(src, "sub", "inner"), "submount\n");
      const script = "cat /rb/sub/inner 2>/dev/null || echo absent; cat /b/sub/inner 2>/dev/null || echo absent";
      const out = await run(["sh", "-c", script], (c) =>
        c.mounts.push(
          { destination: "/rb", type: "bind", source: src, options: ["rbind", "ro"] },
          { destination: "/b", type: "bind", source: src, options: ["bind", "ro"] },
        ),
      );
      expect(out).toBe("submount\nabsent\n");
    } finally {
      sh(["umount", path.join(src, "sub")]);
    }
  },
  { title: "bind and rbind" },
);

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    const src = scratchDir("src");
    fs.writeFileSync(path.join(src, "f"), "x");
    const mi = await run(["cat", "/proc/self/mountinfo"], (c) => {
      c.root.readonly = false;
      c.mounts.push(
        { destination: "/shared", type: "bind", source: src, options: ["rbind", "rshared"] },
        { destination: "/private", type: "bind", source: src, options: ["rbind", "rprivate"] },
        { destination: "/unbindable", type: "bind", source: src, options: ["rbind", "runbindable"] },
      );
    });
    expect(propagation(mi, "/shared").some((f) => f.startsWith("shared:"))).toBe(true);
    expect(propagation(mi, "/private")).toEqual([]);
    expect(propagation(mi, "/unbindable")).toEqual(["unbindable"]);
  },
  { title: "bind mount propagation rshared rprivate runbindable" },
);

must(
  "config.md",
  "Runtimes MUST/SHOULD/MAY implement the following option strings for Linux:",
  async () => {
    // A read-only bind of a host dir: the host's files are visible and can't be changed.
    const src = scratchDir("src");
    fs.writeFileSync(path.join(src, "f"), "host-data\n");
    const out = await run(["sh", "-c", "cat /data/f; echo x > /data/f 2>/dev/null && echo wrote || echo refused"], (c) =>
      c.mounts.push({ destination: "/data", type: "none", source: src, options: ["bind", "ro"] }),
    );
    expect(out).toBe("host-data\nrefused\n");
    expect(fs.readFileSync(path.join(src, "f"), "utf8")).toBe("host-data\n");
  },
  { title: "bind with ro" },
);

cite(
  "config.md",
  "Runtimes SHOULD treat unknown options as filesystem-specific ones)",
  async () => {
    const mi = await run(["cat", "/proc/self/mountinfo"], (c) =>
      c.mounts.push({ destination: "/fs", type: "tmpfs", source: "tmpfs", options: ["size=1m", "mode=0701", "nr_inodes=1k"] }),
    );
    const line = mountLine(mi, "/fs");
    const superOpts = line[line.length - 1]!.split(",");
    expect(superOpts).toEqual(expect.arrayContaining(["size=1024k", "mode=701", "nr_inodes=1024"]));
  },
);

must(
  "config.md",
  "Runtimes MAY log unknown properties but MUST otherwise ignore them.",
  async () => {
    const out = await run(["echo", "fine"], (c) => {
      c.dxtUnknownTopLevel = { nested: [1, 2, 3] };
      c.process.dxtUnknown = "x";
      c.root.dxtUnknown = true;
      c.linux.dxtUnknown = { a: 1 };
      c.mounts[0].dxtUnknown = 5;
    });
    expect(out).toBe("fine\n");
  },
  { title: "unknown properties (also: That includes not generating errors if they encounter an unknown property.)" },
);

must("config.md", "Runtimes MUST generate an error when invalid or unsupported values are encountered.", async () => {
  const cases: ((c: Config) => void)[] = [
    (c) => c.linux.namespaces.push({ type: "dxt-bogus" }),
    (c) => (c.process.user.uid = -5),
    (c) => (c.root.path = 42),
    (c) => (c.linux.rootfsPropagation = "sideways"),
  ];
  for (const patch of cases) {
    const r = await runFg(makeBundle({ args: ["true"], patch }));
    fails(r);
  }
});
