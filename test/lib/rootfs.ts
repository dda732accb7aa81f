// A busybox root filesystem built once from the host's static busybox and reused by
// every bundle. Bundles copy it, so tests may change their copy freely.
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";

export const REPO = path.resolve(import.meta.dir, "../..");
export const WORK = path.join(REPO, "test", ".work");
export const BUSYBOX = "/bin/busybox";

// Bump when the layout below changes so stale caches are not reused.
const LAYOUT = 2;

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "user:x:1000:1000:user:/home/user:/bin/sh",
  "nobody:x:65534:65534:nobody:/nonexistent:/bin/false",
  "",
].join("\n");

const GROUP = [
  "root:x:0:",
  "tty:x:5:",
  "user:x:1000:",
  "nogroup:x:65534:",
  "nobody:x:65534:",
  "",
].join("\n");

function busyboxApplets(): string[] {
  const r = spawnSync(BUSYBOX, ["--list"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${BUSYBOX} --list failed: ${r.stderr}`);
  return r.stdout.split("\n").filter((a) => a && !a.includes("/") && a !== "busybox");
}

function build(dest: string): void {
  for (const d of ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "home/user", "var", "run"]) {
    fs.mkdirSync(path.join(dest, d), { recursive: true });
  }
  fs.chmodSync(path.join(dest, "tmp"), 0o1777);
  fs.chmodSync(path.join(dest, "root"), 0o700);
  fs.chownSync(path.join(dest, "home/user"), 1000, 1000);
  fs.copyFileSync(BUSYBOX, path.join(dest, "bin/busybox"));
  fs.chmodSync(path.join(dest, "bin/busybox"), 0o755);
  for (const applet of busyboxApplets()) {
    fs.symlinkSync("busybox", path.join(dest, "bin", applet));
  }
  // Images conventionally keep tools in these too; a symlink keeps one copy.
  fs.symlinkSync("bin", path.join(dest, "sbin"));
  fs.mkdirSync(path.join(dest, "usr"));
  fs.symlinkSync("../bin", path.join(dest, "usr/bin"));
  fs.symlinkSync("../bin", path.join(dest, "usr/sbin"));
  fs.writeFileSync(path.join(dest, "etc/passwd"), PASSWD);
  fs.writeFileSync(path.join(dest, "etc/group"), GROUP);
  fs.writeFileSync(path.join(dest, "etc/hostname"), "dxt\n");
}

let cached: string | undefined;

/** Path of the shared, read-only-by-convention busybox rootfs; builds it on first use. */
export function rootfsDir(): string {
  if (cached) return cached;
  let st: fs.Stats;
  try {
    st = fs.statSync(BUSYBOX);
  } catch {
    throw new Error(`${BUSYBOX} not found: run \`apt-get install -y busybox-static\``);
  }
  const key = `rootfs-v${LAYOUT}-${st.size}-${Math.floor(st.mtimeMs)}`;
  const dir = path.join(WORK, key);
  if (!fs.existsSync(path.join(dir, "bin/busybox"))) {
    fs.mkdirSync(WORK, { recursive: true });
    // Built aside and renamed so a concurrent or interrupted build never leaves half a tree.
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp);
    build(tmp);
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(path.join(dir, "bin/busybox"))) throw e;
    }
  }
  cached = dir;
  return dir;
}
