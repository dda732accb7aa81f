// config-linux.md: "Default Filesystems", "Devices", "Default Devices", "Sysctl",
// "Rootfs Mount Propagation", "Masked Paths", "Readonly Paths".
import { expect } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  cite,
  create,
  destroy,
  fails,
  makeBundle,
  must,
  ok,
  output,
  readFile,
  rootfsDir,
  rt,
  runcCompat,
  runFg,
  scratchDir,
  useHarness,
  waitFor,
  type Config,
} from "../test/lib/harness";

useHarness("linux-fs");

const run = (args: string[], patch?: (c: Config) => void) => output(makeBundle({ args, patch }));

function sh(cmd: string[]): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
}

/** `stat` of paths inside the container: type, major:minor (hex), octal mode, uid:gid. */
async function statIn(paths: string[], patch?: (c: Config) => void): Promise<Record<string, string>> {
  const script = paths.map((p) => `echo "${p}|$(stat -c '%F|%t:%T|%a|%u:%g' ${p} 2>&1)"`).join("; ");
  const out = await run(["sh", "-c", script], patch);
  return Object.fromEntries(
    out
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("|")), l.slice(l.indexOf("|") + 1)]),
  );
}

function mountFields(mountinfo: string, where: string): string[] {
  const lines = mountinfo.split("\n").filter((l) => l.split(" ")[4] === where);
  if (!lines.length) throw new Error(`no mount at ${where}:\n${mountinfo}`);
  return lines[lines.length - 1]!.split(" ");
}

cite("config-linux.md", "The following filesystems SHOULD be made available in each container's filesystem:", async () => {
  const mi = await run(["cat", "/proc/self/mountinfo"]);
  const fstype = (where: string) => {
    const f = mountFields(mi, where);
    return f[f.indexOf("-") + 1];
  };
  expect(fstype("/proc")).toBe("proc");
  expect(fstype("/sys")).toBe("sysfs");
  expect(fstype("/dev/pts")).toBe("devpts");
  expect(fstype("/dev/shm")).toBe("tmpfs");
});

const DEFAULT_DEVICES: Record<string, string> = {
  "/dev/null": "1:3",
  "/dev/zero": "1:5",
  "/dev/full": "1:7",
  "/dev/random": "1:8",
  "/dev/urandom": "1:9",
  "/dev/tty": "5:0",
};

must(
  "config-linux.md",
  "In addition to any devices configured with this setting, the runtime MUST also supply:",
  async () => {
    const st = await statIn(Object.keys(DEFAULT_DEVICES));
    for (const [p, devno] of Object.entries(DEFAULT_DEVICES)) {
      const [kind, nums, mode] = st[p]!.split("|");
      const [maj, min] = nums!.split(":").map((h) => parseInt(h, 16));
      expect({ p, kind, devno: `${maj}:${min}`, mode }).toEqual({ p, kind: "character special file", devno, mode: "666" });
    }
  },
  { title: "default devices exist as char devices with mode 0666" },
);

must(
  "config-linux.md",
  "In addition to any devices configured with this setting, the runtime MUST also supply:",
  async () => {
    // Present and usable (the device cgroup must allow them too), by a non-root user as well.
    const script = [
      "echo discard > /dev/null && echo null-ok",
      "[ $(head -c 16 /dev/zero | tr -d '\\0' | wc -c) = 0 ] && echo zero-ok",
      "echo x 2>/dev/null > /dev/full || echo full-ok",
      "[ $(head -c 16 /dev/urandom | wc -c) = 16 ] && echo urandom-ok",
      "[ $(head -c 16 /dev/random | wc -c) = 16 ] && echo random-ok",
    ].join("; ");
    const out = await run(["sh", "-c", script], (c) => (c.process.user = { uid: 1000, gid: 1000 }));
    expect(out).toBe("null-ok\nzero-ok\nfull-ok\nurandom-ok\nrandom-ok\n");
  },
  { title: "default devices are usable" },
);

must(
  "config-linux.md",
  "A bind-mount or symlink of the container's `/dev/pts/ptmx`.",
  async () => {
    const out = await run(["sh", "-c", "readlink /dev/ptmx || stat -c '%t:%T' /dev/ptmx"]);
    expect(["pts/ptmx\n", "/dev/pts/ptmx\n", "5:2\n"]).toContain(out);
  },
  { title: "/dev/ptmx (config-linux.md: `/dev/ptmx`.)" },
);

runcCompat("/dev/fd, /dev/stdin, /dev/stdout and /dev/stderr symlinks into /proc/self/fd", async () => {
  const out = await run(["sh", "-c", "for l in fd stdin stdout stderr; do echo $l=$(readlink /dev/$l); done"]);
  expect(out).toBe("fd=/proc/self/fd\nstdin=/proc/self/fd/0\nstdout=/proc/self/fd/1\nstderr=/proc/self/fd/2\n");
});

must(
  "config-linux.md",
  "**`devices`** (array of objects, OPTIONAL) lists devices that MUST be available in the container.",
  async () => {
    const st = await statIn(["/dev/dxt-null", "/dev/dxt-loop", "/dev/dxt-fifo", "/dev/sub/dir/dxt-zero"], (c) => {
      c.linux.devices = [
        { path: "/dev/dxt-null", type: "c", major: 1, minor: 3, fileMode: 0o640, uid: 1000, gid: 1000 },
        { path: "/dev/dxt-loop", type: "b", major: 7, minor: 200, fileMode: 0o600, uid: 0, gid: 0 },
        { path: "/dev/dxt-fifo", type: "p", fileMode: 0o620 },
        { path: "/dev/sub/dir/dxt-zero", type: "c", major: 1, minor: 5 },
      ];
    });
    expect(st["/dev/dxt-null"]).toBe("character special file|1:3|640|1000:1000");
    expect(st["/dev/dxt-loop"]).toBe("block special file|7:c8|600|0:0");
    expect(st["/dev/dxt-fifo"]!.split("|").slice(0, 1)).toEqual(["fifo"]);
    expect(st["/dev/dxt-fifo"]!.split("|")[2]).toBe("620");
    expect(st["/dev/sub/dir/dxt-zero"]!.split("|").slice(0, 2)).toEqual(["character special file", "1:5"]);
  },
);

must(
  "config-linux.md",
  "The path MAY be anywhere in the container filesystem, notably outside of `/dev`.",
  async () => {
    const b = makeBundle({
      args: ["stat", "-c", "%F|%t:%T", "/opt/dxt-null"],
      patch: (c) => (c.linux.devices = [{ path: "/opt/dxt-null", type: "c", major: 1, minor: 3, fileMode: 0o666 }]),
    });
    expect(await output(b)).toBe("character special file|1:3\n");
  },
);

must(
  "config-linux.md",
  "If a file already exists at `path` that does not match the requested device, the runtime MUST generate an error.",
  async () => {
    const b = makeBundle({ args: ["true"] });
    b.file("opt/dxt-dev", "a regular file\n");
    b.config.linux.devices = [{ path: "/opt/dxt-dev", type: "c", major: 1, minor: 3, fileMode: 0o666 }];
    b.write();
    fails(await runFg(b));
  },
  { runcDeviates: "runc 1.1 bind-mounts the device over an existing file instead of failing" },
);

cite(
  "config-linux.md",
  "**`maskedPaths`** (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.",
  async () => {
    const b = makeBundle({
      args: [
        "sh",
        "-c",
        "echo file=$(cat /etc/dxt-secret | wc -c); echo dir=$(ls -A /dxt-secret-dir | wc -l); echo kcore=$(head -c 64 /proc/kcore | wc -c); echo fw=$(ls -A /sys/firmware | wc -l)",
      ],
    });
    b.file("etc/dxt-secret", "top secret\n");
    b.file("dxt-secret-dir/inner", "also secret\n");
    b.config.linux.maskedPaths.push("/etc/dxt-secret", "/dxt-secret-dir");
    b.write();
    expect(await output(b)).toBe("file=0\ndir=0\nkcore=0\nfw=0\n");
  },
);

cite(
  "config-linux.md",
  "**`maskedPaths`** (array of strings, OPTIONAL) will mask over the provided paths inside the container so that they cannot be read.",
  async () => {
    // Masking can't be undone or written through by the container's root.
    const b = makeBundle({
      args: ["sh", "-c", "touch /dxt-secret-dir/new 2>/dev/null && echo wrote || echo refused; echo hi > /etc/dxt-secret; cat /etc/dxt-secret | wc -c"],
    });
    b.file("etc/dxt-secret", "top secret\n");
    b.file("dxt-secret-dir/inner", "also secret\n");
    b.config.root.readonly = false;
    b.config.linux.maskedPaths.push("/etc/dxt-secret", "/dxt-secret-dir");
    b.write();
    expect(await output(b)).toBe("refused\n0\n");
    expect(fs.readFileSync(path.join(b.rootfs, "etc/dxt-secret"), "utf8")).toBe("top secret\n");
  },
  { title: "masked paths are not writable either" },
);

runcCompat("masked and readonly paths that do not exist are skipped", async () => {
  const out = await run(["echo", "fine"], (c) => {
    c.linux.maskedPaths.push("/dxt/does/not/exist");
    c.linux.readonlyPaths.push("/dxt/does/not/exist/either");
  });
  expect(out).toBe("fine\n");
});

cite(
  "config-linux.md",
  "**`readonlyPaths`** (array of strings, OPTIONAL) will set the provided paths as readonly inside the container.",
  async () => {
    const b = makeBundle({
      args: [
        "sh",
        "-c",
        "touch /dxt-ro/x 2>/dev/null && echo dir-wrote || echo dir-refused; " +
          "echo y 2>/dev/null > /etc/dxt-ro-file && echo file-wrote || echo file-refused; " +
          "touch /elsewhere && echo other-wrote; " +
          "echo 1 2>/dev/null > /proc/sys/vm/overcommit_memory && echo procsys-wrote || echo procsys-refused",
      ],
    });
    b.file("dxt-ro/keep", "k");
    b.file("etc/dxt-ro-file", "orig\n");
    b.config.root.readonly = false;
    b.config.linux.readonlyPaths.push("/dxt-ro", "/etc/dxt-ro-file");
    // Privileged enough that only the read-only mount can stop the /proc/sys write.
    b.config.process.capabilities = {
      bounding: ["CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"],
      effective: ["CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"],
      permitted: ["CAP_SYS_ADMIN", "CAP_DAC_OVERRIDE"],
    };
    b.write();
    expect(await output(b)).toBe("dir-refused\nfile-refused\nother-wrote\nprocsys-refused\n");
    expect(fs.readFileSync(path.join(b.rootfs, "etc/dxt-ro-file"), "utf8")).toBe("orig\n");
  },
);

cite(
  "config-linux.md",
  "**`sysctl`** (object, OPTIONAL) allows kernel parameters to be modified at runtime for the container.",
  async () => {
    const hostForward = fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8");
    const hostShmmni = fs.readFileSync("/proc/sys/kernel/shmmni", "utf8");
    const out = await run(["sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/net/ipv4/ip_default_ttl"], (c) => {
      c.linux.sysctl = {
        "net.ipv4.ip_forward": hostForward.trim() === "1" ? "0" : "1",
        "kernel.shmmni": "1234",
        "net/ipv4/ip_default_ttl": "33",
      };
    });
    expect(out.split("\n").slice(0, 3)).toEqual([hostForward.trim() === "1" ? "0" : "1", "1234", "33"]);
    // Namespaced: the host's values are untouched.
    expect(fs.readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8")).toBe(hostForward);
    expect(fs.readFileSync("/proc/sys/kernel/shmmni", "utf8")).toBe(hostShmmni);
  },
  { title: "sysctl (dotted and slashed keys)" },
);

must("config.md", "Runtimes MUST generate an error when invalid or unsupported values are encountered.", async () => {
  fails(await runFg(makeBundle({ args: ["true"], patch: (c) => (c.linux.sysctl = { "dxt.no.such.key": "1" }) })));
}, { title: "unknown sysctl" });

/** A rootfs on a freshly mounted shared tmpfs, so propagation to and from the host can be seen. */
function sharedRootfsBundle(args: string[]) {
  const area = scratchDir("shared");
  sh(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", area]);
  sh(["mount", "--make-shared", area]);
  const rootfs = path.join(area, "rootfs");
  sh(["cp", "-a", rootfsDir(), rootfs]);
  fs.mkdirSync(path.join(rootfs, "mnt"));
  const b = makeBundle({ args, noRootfs: true });
  b.config.root.path = rootfs;
  b.write();
  return {
    b,
    rootfs,
    cleanup: () => spawnSync("umount", ["-R", "-l", area]),
  };
}

for (const [prop, expectFields] of [
  ["shared", (f: string[]) => f.some((x) => x.startsWith("shared:"))],
  ["slave", (f: string[]) => f.some((x) => x.startsWith("master:")) && !f.some((x) => x.startsWith("shared:"))],
  ["private", (f: string[]) => f.length === 0],
  ["unbindable", (f: string[]) => f.length === 1 && f[0] === "unbindable"],
] as const) {
  cite(
    "config-linux.md",
    "**`rootfsPropagation`** (string, OPTIONAL) sets the rootfs's mount propagation.",
    async () => {
      const s = sharedRootfsBundle(["cat", "/proc/self/mountinfo"]);
      try {
        s.b.config.linux.rootfsPropagation = prop;
        s.b.write();
        const f = mountFields(await output(s.b), "/");
        const optional = f.slice(6, f.indexOf("-"));
        expect({ prop, optional, ok: expectFields(optional) }).toEqual({ prop, optional, ok: true });
      } finally {
        s.cleanup();
      }
    },
    {
      title: `rootfsPropagation ${prop}`,
      runcDeviates: prop === "private" ? undefined : "runc 1.1 always leaves the container's / private",
    },
  );
}

cite(
  "config-linux.md",
  "**`slave`**: the rootfs mount receives propagation events from the host (e.g. if something is mounted on the host it will also appear in the container) but not the other way around.",
  async () => {
    const s = sharedRootfsBundle([
      "sh",
      "-c",
      "i=0; while ! grep -q ' /mnt ' /proc/self/mountinfo; do i=$((i+1)); [ $i -gt 100 ] && exit 1; sleep 0.1; done; echo seen; " +
        "mount -t tmpfs tmpfs /tmp && echo container-mounted; sleep 1000",
    ]);
    try {
      s.b.config.linux.rootfsPropagation = "slave";
      s.b.config.root.readonly = false;
      s.b.config.process.capabilities.bounding.push("CAP_SYS_ADMIN");
      s.b.config.process.capabilities.effective.push("CAP_SYS_ADMIN");
      s.b.config.process.capabilities.permitted.push("CAP_SYS_ADMIN");
      s.b.write();
      const { id, out } = await create(s.b);
      try {
        ok(await rt(["start", id]));
        sh(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", path.join(s.rootfs, "mnt")]);
        await waitFor(() => readFile(out).includes("container-mounted"), { what: "host mount to show in the container" });
        // ...and the container's own mount does not come back to the host.
        const hostMounts = fs.readFileSync("/proc/self/mountinfo", "utf8");
        expect(hostMounts).not.toContain(` ${path.join(s.rootfs, "tmp")} `);
      } finally {
        await destroy(id);
      }
    } finally {
      s.cleanup();
    }
  },
  { runcDeviates: "runc 1.1 always leaves the container's / private" },
);
