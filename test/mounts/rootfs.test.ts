// The rootfs and mounts as engines set them up and as runc 1.1 treats them: recursive
// mount attributes, read-only /dev, bind sources a user namespace cannot reach, --no-pivot,
// a missing cwd, device modes with type bits, and root propagation on a rootfs that is
// itself a mount point (as an image snapshot always is).
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import {
  allCaps,
  create,
  destroy,
  fails,
  IS_RUNC,
  makeBundle,
  ok,
  output,
  rt,
  runFg,
  scratchDir,
  setNamespace,
  state,
  useHarness,
  waitFor,
  type Config,
} from "../lib/harness";

useHarness("mounts-rootfs");

function sh(...cmd: string[]): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
}

/** Host mounts made by a test, taken away (lazily, children with them) however it ends. */
class HostMounts {
  private made: string[] = [];
  mount(...args: string[]): void {
    sh("mount", ...args);
    this.made.push(args[args.length - 1]!);
  }
  /** `dir` becomes a mount point of its own, in a fresh peer group: like an overlay snapshot or a kubelet volume. */
  sharedBind(dir: string): void {
    this.mount("--bind", dir, dir);
    sh("mount", "--make-shared", dir);
  }
  /** a mount made some other way (by a container, propagated here) */
  adopt(mountPoint: string): void {
    this.made.push(mountPoint);
  }
  release(): void {
    for (const m of this.made.reverse()) spawnSync("umount", ["-l", m]);
    this.made = [];
  }
}

/** mountinfo lines of `pid`'s namespace (or ours) whose mount point is `where`. */
function mountsAt(where: string, pid: number | "self" = "self"): string[][] {
  return fs
    .readFileSync(`/proc/${pid}/mountinfo`, "utf8")
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f[4] === where);
}

/** Propagation (shared:N, master:N, unbindable) of the topmost mount at `where`, from a mountinfo text. */
function propagationOf(mountinfo: string, where: string): string[] {
  const lines = mountinfo.split("\n").map((l) => l.split(" ")).filter((f) => f[4] === where);
  const f = lines[lines.length - 1];
  if (!f) throw new Error(`no mount at ${where} in:\n${mountinfo}`);
  return f.slice(6, f.indexOf("-")).map((o) => o.replace(/:\d+$/, ""));
}

function userns(c: Config): void {
  setNamespace(c, "user");
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.mounts = c.mounts.filter((m: { destination: string }) => !["/sys", "/sys/fs/cgroup"].includes(m.destination));
}

test("rro makes a bind read-only all the way down; ro reaches its top mount only", async () => {
  const host = new HostMounts();
  try {
    const src = scratchDir("rro");
    fs.mkdirSync(path.join(src, "sub"));
    host.mount("-t", "tmpfs", "tmpfs", path.join(src, "sub"));
    const probe = "touch /mnt/top 2>/dev/null && echo top-rw || echo top-ro; touch /mnt/sub/x 2>/dev/null && echo sub-rw || echo sub-ro";
    const run = (options: string[]) =>
      output(makeBundle({ args: ["sh", "-c", probe], patch: (c) => c.mounts.push({ destination: "/mnt", type: "bind", source: src, options }) }));
    expect(await run(["rbind", "ro"])).toBe("top-ro\nsub-rw\n");
    expect(await run(["rbind", "rro"])).toBe("top-ro\nsub-ro\n");
    expect(await run(["rbind", "ro", "rro"])).toBe("top-ro\nsub-ro\n");
    // the last word wins, as with ro/rw (runc sets and clears the bit at once, and gets ro)
    if (!IS_RUNC) expect(await run(["rbind", "rro", "rrw"])).toBe("top-rw\nsub-rw\n");
    // the other recursive attributes reach the submount too
    const opts = await output(
      makeBundle({
        args: ["sh", "-c", "grep ' /mnt/sub ' /proc/self/mountinfo | cut -d' ' -f6"],
        patch: (c) => c.mounts.push({ destination: "/mnt", type: "bind", source: src, options: ["rbind", "rnoexec", "rnosuid", "rnodev", "rnoatime"] }),
      }),
    );
    expect(opts.trim().split(",")).toEqual(expect.arrayContaining(["noexec", "nosuid", "nodev", "noatime"]));
  } finally {
    host.release();
  }
});

test("a read-only /dev tmpfs still gets /dev/pts, its device nodes and links, then is read-only", async () => {
  const b = makeBundle({
    args: ["sh", "-c", "grep -E '^tmpfs /dev ' /proc/mounts | cut -d' ' -f4; grep -c ' /dev/pts devpts ' /proc/mounts; ls /dev/null /dev/ptmx; touch /dev/x 2>/dev/null && echo wrote || echo refused"],
    patch: (c) => c.mounts.find((m: { destination: string }) => m.destination === "/dev").options.push("ro"),
  });
  const lines = (await output(b)).trim().split("\n");
  expect(lines[0]!.split(",")).toContain("ro");
  expect(lines.slice(1)).toEqual(["1", "/dev/null", "/dev/ptmx", "refused"]);
});

test("a read-only tmpfs is read-only, and keeps the mode of the directory it covers", async () => {
  const b = makeBundle({
    args: ["sh", "-c", "grep -E '^tmpfs /mnt ' /proc/mounts | cut -d' ' -f4; stat -c %a /mnt"],
    patch: (c) => c.mounts.push({ destination: "/mnt", type: "tmpfs", source: "tmpfs", options: ["ro", "nodev", "nosuid", "mode=755"] }),
  });
  const [opts, mode] = (await output(b)).trim().split("\n");
  expect(opts!.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev"]));
  expect(mode).toBe("755");
});

test("a bind source only the host's root can reach is bound into a user namespace", async () => {
  const dir = scratchDir("private");
  fs.chmodSync(dir, 0o700);
  const src = path.join(dir, "data");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "file"), "secret-ok\n");
  fs.writeFileSync(path.join(dir, "single"), "one-file\n");
  const b = makeBundle({
    args: ["sh", "-c", "cat /data/file /single"],
    patch: (c) => {
      userns(c);
      c.mounts.push({ destination: "/data", type: "bind", source: src, options: ["rbind", "ro"] });
      c.mounts.push({ destination: "/single", type: "bind", source: path.join(dir, "single"), options: ["bind"] });
    },
  });
  // The image's root belongs to the host's root: the mount points are there already.
  fs.mkdirSync(path.join(b.rootfs, "data"));
  fs.writeFileSync(path.join(b.rootfs, "single"), "");
  expect(await output(b)).toBe("secret-ok\none-file\n");
});

test("a missing bind source is still one clear error, in a user namespace too", async () => {
  const b = makeBundle({
    args: ["true"],
    patch: (c) => {
      userns(c);
      c.mounts.push({ destination: "/data", type: "bind", source: "/nonexistent-dx-source", options: ["rbind"] });
    },
  });
  const r = fails(await runFg(b));
  expect(r.stderr).toContain("/nonexistent-dx-source");
});

test("proc is never mounted through a symlink, and the error says so as runc's does", async () => {
  const b = makeBundle({ args: ["true"] });
  fs.rmSync(path.join(b.rootfs, "proc"), { recursive: true });
  fs.symlinkSync("/symlink", path.join(b.rootfs, "proc"));
  const r = fails(await runFg(b));
  expect(r.stderr).toContain("must be mounted on ordinary directory");
});

test("--no-pivot leaves no host procfs for a nested user namespace to mount a fresh /proc", async () => {
  const b = makeBundle({
    args: ["unshare", "-mrpf", "sh", "-c", "mount -t proc none /proc && echo mounted"],
    patch: (c) => {
      c.process.capabilities.bounding.push("CAP_SETFCAP");
      c.process.capabilities.permitted.push("CAP_SETFCAP");
    },
  });
  const r = await runFg(b, { args: ["--no-pivot"] });
  expect(r.stdout).not.toContain("mounted");
  expect(r.stderr).toContain("permission denied");
});

test("--no-pivot refuses a private root propagation", async () => {
  const b = makeBundle({ args: ["true"], patch: (c) => (c.linux.rootfsPropagation = "rprivate") });
  const r = fails(await runFg(b, { args: ["--no-pivot"] }));
  expect(r.stderr).toContain("rootfsPropagation");
});

test("a cwd missing from the image is made (0755) inside the rootfs, never through a symlink out of it", async () => {
  const b = makeBundle({ args: ["sh", "-c", "pwd; stat -c %a /work/deep/dir"] });
  const outside = scratchDir("outside");
  // absolute: resolved in the container, it is <rootfs><outside>, not the host's <outside>
  fs.symlinkSync(outside, path.join(b.rootfs, "escape"));
  b.config.process.cwd = "/work/deep/dir";
  b.write();
  expect(await output(b)).toBe("/work/deep/dir\n755\n");

  // runc's MkdirAll stops at the dangling link ("file exists"); here it is followed in the root
  if (IS_RUNC) return;
  b.config.process.cwd = "/escape/made";
  b.config.process.args = ["pwd"];
  b.write();
  expect(await output(b)).toBe(`${outside}/made\n`);
  expect(fs.existsSync(path.join(outside, "made"))).toBe(false);
  expect(fs.statSync(path.join(b.rootfs, outside, "made")).isDirectory()).toBe(true);
});

test("a missing cwd is made before the root goes read-only, and for a user that could not make it", async () => {
  const b = makeBundle({ args: ["pwd"] });
  b.config.root.readonly = true;
  b.config.process.cwd = "/var/lib/app";
  b.config.process.user = { uid: 1000, gid: 1000 };
  b.write();
  expect(await output(b)).toBe("/var/lib/app\n");
});

test("a device fileMode with the file-type bits (podman's 8576 for /dev/fuse) uses the permission bits", async () => {
  const b = makeBundle({
    args: ["stat", "-c", "%F %a %t:%T", "/dev/fuse"],
    patch: (c) => (c.linux.devices ??= []).push({ path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 8576, uid: 0, gid: 0 }),
  });
  expect(await output(b)).toBe("character special file 600 a:e5\n");
});

const PROPAGATIONS = ["private", "rprivate", "slave", "rslave", "shared", "rshared", "unbindable", "runbindable"];

test("every rootfsPropagation works on a rootfs that is a shared mount point, leaving no mount on the host", async () => {
  const host = new HostMounts();
  try {
    const b = makeBundle({ args: ["cat", "/proc/self/mountinfo"] });
    host.sharedBind(b.rootfs);
    const before = mountsAt(b.rootfs).length;
    for (const p of PROPAGATIONS) {
      b.config.linux.rootfsPropagation = p;
      b.write();
      const mi = await output(b);
      const want = p.replace(/^r/, "");
      const got = propagationOf(mi, "/");
      // a slave's master is the host's rootfs mount (runc changes only "/" for the plain names)
      if (!IS_RUNC) expect(got).toEqual(want === "private" ? [] : [want === "slave" ? "master" : want]);
      // nothing the container mounted under its root showed up here
      expect(mountsAt(b.rootfs).length).toBe(before);
      expect(fs.readFileSync("/proc/self/mountinfo", "utf8")).not.toContain(`${b.rootfs}/proc `);
    }
  } finally {
    host.release();
  }
});

/**
 * A volume as the kubelet makes one (its own shared mount point), bound at /vol with a
 * propagation, in a container with CAP_SYS_ADMIN that waits in `sleep`.
 */
async function volumeContainer(volOpt: string, rootProp: string, host: HostMounts) {
  const vol = scratchDir("vol");
  host.sharedBind(vol);
  const b = makeBundle({ args: ["sleep", "1000"] });
  host.sharedBind(b.rootfs);
  b.config.linux.rootfsPropagation = rootProp;
  b.config.mounts.push({ destination: "/vol", type: "bind", source: vol, options: ["rbind", volOpt] });
  allCaps(b.config, ["CAP_SYS_ADMIN", "CAP_KILL"]);
  b.write();
  const { id } = await create(b);
  ok(await rt(["start", id]));
  const { pid } = await state(id);
  return { vol, id, pid: pid as number };
}

test("Bidirectional (rshared): a host mount under the volume reaches the container, and one made in it reaches the host", async () => {
  const host = new HostMounts();
  let id: string | undefined;
  try {
    const c = await volumeContainer("rshared", "rshared", host);
    id = c.id;
    fs.mkdirSync(path.join(c.vol, "fromhost"));
    fs.mkdirSync(path.join(c.vol, "fromctr"));
    host.mount("-t", "tmpfs", "fromhost", path.join(c.vol, "fromhost"));
    await waitFor(() => mountsAt("/vol/fromhost", c.pid).length > 0, { what: "host mount in the container" });
    ok(await rt(["exec", c.id, "mount", "-t", "tmpfs", "fromctr", "/vol/fromctr"]));
    host.adopt(path.join(c.vol, "fromctr"));
    expect(mountsAt(path.join(c.vol, "fromctr")).length).toBeGreaterThan(0);
  } finally {
    if (id) await destroy(id);
    host.release();
  }
});

test("HostToContainer (rslave): a host mount under the volume reaches the container; one made in it stays there", async () => {
  const host = new HostMounts();
  let id: string | undefined;
  try {
    const c = await volumeContainer("rslave", "rslave", host);
    id = c.id;
    fs.mkdirSync(path.join(c.vol, "fromhost"));
    fs.mkdirSync(path.join(c.vol, "fromctr"));
    host.mount("-t", "tmpfs", "fromhost", path.join(c.vol, "fromhost"));
    await waitFor(() => mountsAt("/vol/fromhost", c.pid).length > 0, { what: "host mount in the container" });
    ok(await rt(["exec", c.id, "mount", "-t", "tmpfs", "fromctr", "/vol/fromctr"]));
    expect(mountsAt("/vol/fromctr", c.pid).length).toBe(1);
    expect(mountsAt(path.join(c.vol, "fromctr")).length).toBe(0);
  } finally {
    if (id) await destroy(id);
    host.release();
  }
});

test.if(!IS_RUNC)("the recursive options are listed by features", async () => {
  const f = JSON.parse(ok(await rt(["features"])).stdout);
  expect(f.mountOptions).toEqual(expect.arrayContaining(["rro", "rrw", "rnosuid", "rnoexec", "rnoatime"]));
});

test("stdio on the host's /dev/null is the container's /dev/null, as runc reopens it", async () => {
  // CRIU cannot dump a file open on a mount the container does not have: podman and
  // containerd hand the runtime the host's /dev/null as stdin.
  const b = makeBundle({
    args: ["sh", "-c", 'exec 5</dev/null; a=$(grep mnt_id /proc/self/fdinfo/0); c=$(grep mnt_id /proc/self/fdinfo/5); [ "$a" = "$c" ] && echo same || echo "differ: $a $c"'],
  });
  expect((await output(b)).trim()).toBe("same");
});
