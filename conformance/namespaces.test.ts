// config-linux.md, "Namespaces" and "User namespace mappings".
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import {
  childOf,
  cite,
  create,
  destroy,
  dropNamespace,
  fails,
  makeBundle,
  must,
  nsOf,
  ok,
  output,
  rt,
  runFg,
  scratchDir,
  setNamespace,
  state,
  useHarness,
  type Config,
} from "../test/lib/harness";

useHarness("namespaces");

const TYPES: Record<string, string> = {
  pid: "pid",
  network: "net",
  ipc: "ipc",
  uts: "uts",
  mount: "mnt",
  cgroup: "cgroup",
  time: "time",
};

/** The container's own view of its namespaces, as `type=ns:[inode]` lines. */
async function containerNs(patch: (c: Config) => void): Promise<Record<string, string>> {
  const script = Object.values(TYPES)
    .map((f) => `echo ${f}=$(readlink /proc/self/ns/${f})`)
    .join("; ");
  const out = await output(makeBundle({ args: ["sh", "-c", script], patch }));
  return Object.fromEntries(out.trim().split("\n").map((l) => l.split("=") as [string, string]));
}

/**
 * A host process holding fresh namespaces to join: unshare forks so its child is pid 1 of
 * a new pid namespace. Killed child first (a pid-1 orphan would otherwise outlive it).
 */
async function nsHolder(flags: string[], idMap?: string) {
  const cwd = scratchDir("holder");
  const p = Bun.spawn({ cmd: ["unshare", ...flags, "--fork", "sleep", "1000"], cwd, stdio: ["ignore", "ignore", "ignore"] });
  const child = await childOf(p.pid);
  if (idMap) {
    // Written from the host, as a runtime would: unshare's own mapping options need newuidmap.
    fs.writeFileSync(`/proc/${child}/uid_map`, idMap);
    fs.writeFileSync(`/proc/${child}/gid_map`, idMap);
  }
  // Wait until the child has exec'd sleep, i.e. is fully inside its namespaces.
  for (let i = 0; i < 100 && !fs.readFileSync(`/proc/${child}/cmdline`, "utf8").startsWith("sleep"); i++) {
    await Bun.sleep(10);
  }
  return {
    pid: child,
    async stop() {
      for (const pid of [child, p.pid]) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {}
      }
      await p.exited;
    },
  };
}

for (const [type, file] of Object.entries(TYPES)) {
  must(
    "config-linux.md",
    "If `path` is not specified, the runtime MUST create a new container namespace of type `type`.",
    async () => {
      const ns = await containerNs((c) => setNamespace(c, type));
      expect(ns[file]).toMatch(/^[a-z_]+:\[\d+\]$/);
      expect(ns[file]).not.toBe(nsOf("self", file));
    },
    {
      title: `new ${type} namespace`,
      runcDeviates: type === "time" ? "runc 1.1 does not support the time namespace" : undefined,
    },
  );
}

for (const type of ["network", "ipc", "uts", "cgroup"]) {
  must(
    "config-linux.md",
    "If a namespace type is not specified in the `namespaces` array, the container MUST inherit the runtime namespace of that type.",
    async () => {
      const file = TYPES[type]!;
      const ns = await containerNs((c) => {
        dropNamespace(c, type);
        // A hostname needs a UTS namespace of its own.
        if (type === "uts") delete c.hostname;
      });
      expect(ns[file]).toBe(nsOf("self", file));
    },
    { title: `no ${type} namespace` },
  );
}

must(
  "config-linux.md",
  "If a namespace type is not specified in the `namespaces` array, the container MUST inherit the runtime namespace of that type.",
  async () => {
    const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => dropNamespace(c, "pid") });
    const { id } = await create(b);
    try {
      ok(await rt(["start", id]));
      const { pid } = await state(id);
      expect(nsOf(pid, "pid")).toBe(nsOf("self", "pid"));
    } finally {
      await destroy(id);
    }
  },
  { title: "no pid namespace" },
);

for (const type of ["network", "ipc", "uts", "cgroup", "pid"]) {
  must(
    "config-linux.md",
    "The runtime MUST place the container process in the namespace associated with that `path`.",
    async () => {
      const file = TYPES[type]!;
      const holder = await nsHolder(["--net", "--ipc", "--uts", "--cgroup", "--pid"]);
      try {
        const want = nsOf(holder.pid, file);
        expect(want).not.toBe(nsOf("self", file));
        const ns = await containerNs((c) => setNamespace(c, type, `/proc/${holder.pid}/ns/${file}`));
        expect(ns[file]).toBe(want);
      } finally {
        await holder.stop();
      }
    },
    { title: `join ${type} namespace by path` },
  );
}

must(
  "config-linux.md",
  "The runtime MUST generate an error if `path` is not associated with a namespace of type `type`.",
  async () => {
    const holder = await nsHolder(["--net", "--uts"]);
    try {
      fails(await runFg(makeBundle({ args: ["true"], patch: (c) => setNamespace(c, "network", `/proc/${holder.pid}/ns/uts`) })));
      const notNs = path.join(scratchDir("f"), "plain-file");
      fs.writeFileSync(notNs, "");
      fails(await runFg(makeBundle({ args: ["true"], patch: (c) => setNamespace(c, "network", notNs) })));
    } finally {
      await holder.stop();
    }
  },
);

must(
  "config-linux.md",
  "If a `namespaces` field contains duplicated namespaces with same `type`, the runtime MUST generate an error.",
  async () => {
    fails(await runFg(makeBundle({ args: ["true"], patch: (c) => c.linux.namespaces.push({ type: "network" }) })));
  },
);

function userns(c: Config, uid: { containerID: number; hostID: number; size: number }[], gid = uid): void {
  setNamespace(c, "user");
  c.linux.uidMappings = uid;
  c.linux.gidMappings = gid;
  // Mounts a user namespace may not make (sysfs and cgroup need more than the user ns owns here).
  c.mounts = c.mounts.filter((m: { destination: string }) => !["/sys", "/sys/fs/cgroup"].includes(m.destination));
}

must(
  "config-linux.md",
  "If `path` is not specified, the runtime MUST create a new container namespace of type `type`.",
  async () => {
    const out = await output(
      makeBundle({
        args: ["readlink", "/proc/self/ns/user"],
        patch: (c) => userns(c, [{ containerID: 0, hostID: 100000, size: 65536 }]),
      }),
    );
    expect(out.trim()).toMatch(/^user:\[\d+\]$/);
    expect(out.trim()).not.toBe(nsOf("self", "user"));
  },
  { title: "new user namespace" },
);

must(
  "config-linux.md",
  "**`uidMappings`** (array of objects, OPTIONAL) describes the user namespace uid mappings from the host to the container.",
  async () => {
    const out = await output(
      makeBundle({
        args: ["sh", "-c", "cat /proc/self/uid_map; echo --; cat /proc/self/gid_map; echo --; id -u; id -g"],
        patch: (c) =>
          userns(
            c,
            [
              { containerID: 0, hostID: 100000, size: 1000 },
              { containerID: 1000, hostID: 300000, size: 10 },
            ],
            [{ containerID: 0, hostID: 200000, size: 65536 }],
          ),
      }),
    );
    const [uid, gid, ids] = out.split("--\n");
    expect(uid!.trim().split("\n").map((l) => l.trim().split(/\s+/))).toEqual([
      ["0", "100000", "1000"],
      ["1000", "300000", "10"],
    ]);
    // config-linux.md: "**`gidMappings`** (array of objects, OPTIONAL) describes the user namespace gid mappings from the host to the container."
    expect(gid!.trim().split(/\s+/)).toEqual(["0", "200000", "65536"]);
    expect(ids!.trim().split("\n")).toEqual(["0", "0"]);
  },
);

must(
  "config-linux.md",
  "**`hostID`** *(uint32, REQUIRED)* - is the starting uid/gid on the host to be mapped to *containerID*.",
  async () => {
    const b = makeBundle({ args: ["sleep", "1000"], patch: (c) => userns(c, [{ containerID: 0, hostID: 100000, size: 65536 }]) });
    b.config.process.user = { uid: 5, gid: 7 };
    b.write();
    const { id } = await create(b);
    try {
      ok(await rt(["start", id]));
      const { pid } = await state(id);
      const st = fs.readFileSync(`/proc/${pid}/status`, "utf8");
      // Seen from the host: container uid 5 is host uid 100005.
      expect(st.match(/^Uid:\s+(.*)$/m)![1]!.split(/\s+/)).toEqual(["100005", "100005", "100005", "100005"]);
      expect(st.match(/^Gid:\s+(.*)$/m)![1]!.split(/\s+/)).toEqual(["100007", "100007", "100007", "100007"]);
    } finally {
      await destroy(id);
    }
  },
);

cite(
  "config-linux.md",
  "The runtime SHOULD NOT modify the ownership of referenced filesystems to realize the mapping.",
  async () => {
    const b = makeBundle({ args: ["true"], patch: (c) => userns(c, [{ containerID: 0, hostID: 100000, size: 65536 }]) });
    await output(b);
    for (const p of ["", "bin", "bin/busybox", "etc/passwd"]) expect(fs.lstatSync(path.join(b.rootfs, p)).uid).toBe(0);
  },
);

must(
  "config-linux.md",
  "The runtime MUST place the container process in the namespace associated with that `path`.",
  async () => {
    const holder = await nsHolder(["--user", "--net"], "0 100000 65536\n");
    try {
      const want = nsOf(holder.pid, "user");
      const b = makeBundle({
        args: ["sh", "-c", "readlink /proc/self/ns/user; cat /proc/self/uid_map"],
        patch: (c) => {
          userns(c, [{ containerID: 0, hostID: 100000, size: 65536 }]);
          setNamespace(c, "user", `/proc/${holder.pid}/ns/user`);
          setNamespace(c, "network", `/proc/${holder.pid}/ns/net`);
        },
      });
      const out = (await output(b)).split("\n");
      expect(out[0]).toBe(want);
      expect(out[1]!.trim().split(/\s+/)).toEqual(["0", "100000", "65536"]);
    } finally {
      await holder.stop();
    }
  },
  { title: "join user namespace by path" },
);

// Not in the spec: runc brings up lo in a network namespace it creates (its "loopback"
// network), and engines that add no interface of their own rely on it (podman
// --network none, a pod without CNI, ctr run): 127.0.0.1 must answer.
const LO_PROBE = [
  "sh",
  "-c",
  "ip -o link show lo; (echo pong | nc -l -p 7777 127.0.0.1 &) ; sleep 0.3; echo ping | nc -w 2 127.0.0.1 7777",
];
for (const variant of ["", "in a new user namespace"]) {
  test(`a new network namespace has lo up and 127.0.0.1 answering${variant ? ` (${variant})` : ""}`, async () => {
    const out = await output(
      makeBundle({
        args: LO_PROBE,
        patch: (c) => {
          if (variant) userns(c, [{ containerID: 0, hostID: 100000, size: 65536 }]);
        },
      }),
    );
    expect(out).toMatch(/lo: <[^>]*\bUP\b/);
    expect(out).toContain("pong");
  });
}

test("a joined network namespace keeps its lo as it was", async () => {
  const holder = await nsHolder(["--net"]);
  try {
    const out = await output(
      makeBundle({ args: ["ip", "-o", "link", "show", "lo"], patch: (c) => setNamespace(c, "network", `/proc/${holder.pid}/ns/net`) }),
    );
    expect(out).toMatch(/lo: <LOOPBACK>/);
  } finally {
    await holder.stop();
  }
});
