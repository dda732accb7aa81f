// CVE-2021-30465 class: a hostile rootfs full of symlinks cannot steer a mount (or the
// directory created for it) outside the rootfs, and /proc or /sys as symlinks are refused.
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { explain, makeBundle, oneErrorLine, rt, uniqueId, useHarness, type Bundle } from "../lib/harness";
import { mountTable as hostMounts } from "../lib/leaks";

useHarness("mount-escape");

function tag(): string {
  return `dxt-evil-${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
}

/** Replaces a path of the rootfs with a symlink. */
function symlinkIn(b: Bundle, rel: string, target: string): void {
  const p = path.join(b.rootfs, rel);
  fs.rmSync(p, { recursive: true, force: true });
  fs.symlinkSync(target, p);
}

function hostMountsNamed(name: string): string[] {
  return hostMounts()
    .filter((m) => m.mountPoint.includes(name))
    .map((m) => m.mountPoint);
}

/**
 * Runs a container whose mounts go through the symlinks; `hostPaths` must not exist
 * afterwards. Returns where the container saw its mounts (from its own mountinfo), or
 * the error line when the runtime refused.
 */
async function attempt(b: Bundle, name: string, hostPaths: string[]): Promise<{ ran: boolean; seen: string; error?: string }> {
  b.config.process.args = ["sh", "-c", `grep ${name} /proc/self/mountinfo | cut -d' ' -f5; true`];
  b.write();
  for (const p of hostPaths) expect(fs.existsSync(p)).toBe(false);
  const r = await rt(["run", "--bundle", b.dir, uniqueId()], { timeoutMs: 20_000 });
  for (const p of hostPaths) {
    const there = fs.existsSync(p);
    if (there) fs.rmSync(p, { recursive: true, force: true });
    expect({ path: p, created: there }).toEqual({ path: p, created: false });
  }
  expect(hostMountsNamed(name)).toEqual([]);
  if (r.code !== 0) {
    const line = oneErrorLine(r);
    expect(line).not.toMatch(/undefined|\bat .*\.ts:/);
    return { ran: false, seen: "", error: line };
  }
  return { ran: true, seen: r.stdout.trim() };
}

const tmpfsAt = (destination: string) => ({ destination, type: "tmpfs", source: "tmpfs", options: ["size=1m"] });

test("etc -> /etc: a mount under /etc stays in the rootfs", async () => {
  const name = tag();
  const b = makeBundle({ args: ["true"] });
  symlinkIn(b, "etc", "/etc");
  b.config.mounts.push(tmpfsAt(`/etc/${name}`));
  const r = await attempt(b, name, [`/etc/${name}`]);
  // Either refused (the link loops when resolved in the root) or mounted inside.
  if (r.ran) expect(r.seen).toBe(`/etc/${name}`);
  else expect(r.error).toMatch(new RegExp(`/etc/${name}`));
});

test("dir -> ..: a mount through it stays in the rootfs", async () => {
  const name = tag();
  const b = makeBundle({ args: ["true"] });
  symlinkIn(b, "up", "..");
  symlinkIn(b, "upup", "../../../../../../..");
  b.config.mounts.push(tmpfsAt(`/up/${name}`), tmpfsAt(`/upup/tmp/${name}`), tmpfsAt(`/up/up/up/${name}-x`));
  const r = await attempt(b, name, [path.join(b.dir, name), path.join(b.dir, `${name}-x`), `/tmp/${name}`, path.join(path.dirname(b.dir), `${name}-x`)]);
  expect(r.ran).toBe(true);
  // ".." at the container's root is the root itself.
  expect(r.seen.split("\n").sort()).toEqual([`/${name}`, `/${name}-x`, `/tmp/${name}`].sort());
  expect(fs.existsSync(path.join(b.rootfs, name))).toBe(true);
});

test("dir -> /: a mount through it stays in the rootfs", async () => {
  const name = tag();
  const b = makeBundle({ args: ["true"] });
  symlinkIn(b, "hostroot", "/");
  const src = path.join(b.dir, "bind-src");
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "f"), "x");
  b.config.mounts.push(
    tmpfsAt(`/hostroot/${name}`),
    { destination: `/hostroot/${name}-bind`, type: "bind", source: src, options: ["rbind", "ro"] },
    { destination: `/hostroot/${name}-file`, type: "bind", source: path.join(src, "f"), options: ["bind"] },
  );
  const r = await attempt(b, name, [`/${name}`, `/${name}-bind`, `/${name}-file`]);
  expect(r.ran).toBe(true);
  expect(r.seen.split("\n").sort()).toEqual([`/${name}`, `/${name}-bind`, `/${name}-file`].sort());
});

test("a dangling symlink to a host path is followed inside the rootfs, not on the host", async () => {
  const name = tag();
  const b = makeBundle({ args: ["true"] });
  // Missing on the host and in the rootfs: creating the mount point must happen in the rootfs.
  symlinkIn(b, "dangle", `/tmp/${name}-host/made`);
  b.config.mounts.push(tmpfsAt("/dangle"));
  const r = await attempt(b, name, [`/tmp/${name}-host`]);
  if (r.ran) expect(fs.existsSync(path.join(b.rootfs, "tmp", `${name}-host`, "made"))).toBe(true);
});

test("a chain of symlinks ending at a host path keeps the mount in the rootfs", async () => {
  const name = tag();
  const b = makeBundle({ args: ["true"] });
  symlinkIn(b, "etc", "/etc");
  // A tmpfs whose destination is a symlink chain ending at a host path.
  symlinkIn(b, "chain1", "chain2");
  symlinkIn(b, "chain2", `/../../../../tmp/${name}`);
  b.config.mounts.push(tmpfsAt("/chain1"));
  const r = await attempt(b, name, [`/tmp/${name}`]);
  if (r.ran) expect(fs.existsSync(path.join(b.rootfs, "tmp", name))).toBe(true);
});

for (const [dir, type] of [
  ["proc", "proc"],
  ["sys", "sysfs"],
] as const) {
  for (const target of ["/", `/tmp/fake${dir}`, "../../../..", "/etc"]) {
    test(`/${dir} as a symlink (-> ${target}) in the rootfs is refused`, async () => {
      const b = makeBundle({ args: ["true"] });
      fs.mkdirSync(path.join(b.rootfs, "tmp", `fake${dir}`), { recursive: true });
      symlinkIn(b, dir, target);
      if (type === "sysfs") {
        // Without the cgroup mount under it: that one would fail first, for its own reasons.
        b.config.mounts = b.config.mounts.filter((m: { destination: string }) => m.destination !== "/sys/fs/cgroup");
      }
      b.write();
      const watched = (m: { mountPoint: string }) => ["/", "/etc", "/proc", "/sys", "/tmp"].includes(m.mountPoint) || m.mountPoint.startsWith(b.dir);
      const before = hostMounts().filter(watched).map((m) => m.mountPoint).sort();
      const r = await rt(["run", "--bundle", b.dir, uniqueId()], { timeoutMs: 20_000 });
      if (r.code === 0) throw new Error(`a ${dir} symlink was followed: ${explain(r)}`);
      const line = oneErrorLine(r);
      expect(line).toContain(`/${dir}`);
      expect(line).toMatch(/symbolic link|symlink|too many levels/i);
      // Nothing was mounted on the host over whatever the link points at.
      expect(hostMounts().filter(watched).map((m) => m.mountPoint).sort()).toEqual(before);
    });
  }
}
