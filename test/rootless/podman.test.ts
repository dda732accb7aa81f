// Rootless podman (run by a throwaway unprivileged user) with runc and with dx-runtime:
// the same checks for both. Storage (vfs), run state and events live in the user's
// scratch dir; images come from a local tarball; no network namespace of podman's.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { REPO } from "../lib/rootfs";
import { testImage } from "../engines/engines";
import { canMakeUsers, makeUser, runAs, type RootlessUser } from "./user";

setDefaultTimeout(120_000);

const DX = process.env.DX_RUNTIME || path.join(REPO, "dist", "dx-runtime");
const PTY_DRIVE = path.join(REPO, "test/engines/pty-drive.py");
const has = (t: string) => spawnSync("which", [t]).status === 0;
const enabled = canMakeUsers() && fs.existsSync(DX) && has("podman") && has("conmon") && has("python3");
let u: RootlessUser;
let conf = "";

beforeAll(() => {
  if (!enabled) return;
  u = makeUser("p");
  conf = path.join(u.dir, "containers.conf");
  fs.writeFileSync(conf, `[containers]\nnetns = "none"\n`);
  const images = path.join(u.dir, "images");
  fs.mkdirSync(images);
  const img = testImage(images);
  const pause = testImage(images, { name: "localhost/dx-pause:latest", cmd: ["sleep", "1000000"] });
  spawnSync("chown", ["-R", `${u.uid}:${u.gid}`, u.dir]);
  for (const t of [img.tar, pause.tar]) {
    const r = podman([], ["load", "-i", t]);
    if (r.code !== 0) throw new Error(`podman load: ${r.stderr}`);
  }
}, 300_000);

afterAll(() => {
  if (!enabled) return;
  podman([], ["rm", "-a", "-f", "-t", "0"]);
  podman([], ["pod", "rm", "-a", "-f", "-t", "0"]);
  // vfs layers are plain files, but the user's own namespace owns some of them.
  podman([], ["system", "reset", "-f"]);
  u.remove();
}, 120_000);

function globals(): string[] {
  const d = u.dir;
  return ["--root", `${d}/storage`, "--runroot", `${d}/run`, "--tmpdir", `${d}/tmp`, "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"];
}

function podman(rt: string[], args: string[], timeoutMs = 60_000) {
  return runAs(u, ["podman", ...globals(), ...rt, ...args], { env: { CONTAINERS_CONF: conf }, timeoutMs });
}

for (const [label, bin] of [["runc", "/usr/sbin/runc"], ["dx-runtime", DX]] as const) {
  describe.skipIf(!enabled || !fs.existsSync(bin))(`rootless podman with ${label}`, () => {
    const pm = (args: string[], t?: number) => podman(["--runtime", bin], args, t);
    const img = "docker.io/library/dx-busybox:latest";
    const n = (tag: string) => `rl-${tag}-${label}-${process.pid}`;

    test("run: output and exit code", () => {
      const r = pm(["run", "--rm", img, "sh", "-c", "echo hi from $(id -u) pid $$; exit 7"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe("hi from 0 pid 1\n");
      expect(r.code).toBe(7);
    });

    test("run -d, exec, stop, rm", () => {
      const c = n("long");
      const script = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";
      expect(pm(["run", "-d", "--name", c, img, "sh", "-c", script]).code).toBe(0);
      const ex = pm(["exec", c, "sh", "-c", "echo in $(cat /proc/1/comm); exit 3"]);
      expect(ex.stdout).toBe("in sh\n");
      expect(ex.code).toBe(3);
      expect(pm(["stop", "-t", "10", c]).code).toBe(0);
      expect(pm(["inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", c]).stdout.trim()).toBe("exited 0");
      expect(pm(["rm", c]).code).toBe(0);
      expect(pm(["ps", "-a", "-q", "--filter", `name=${c}`]).stdout.trim()).toBe("");
    });

    test("run -it on a real pty", () => {
      const r = runAs(u, ["python3", PTY_DRIVE, "40", "echo tty-$((6*7)); tty; exit 5\n", "--", "podman", ...globals(), "--runtime", bin, "run", "--rm", "-it", img, "sh"], {
        env: { CONTAINERS_CONF: conf },
        timeoutMs: 45_000,
      });
      expect(r.stdout).toMatch(/tty-42\r?\r\n/);
      expect(r.stdout).toMatch(/\/dev\/pts\/0\r?\r\n/);
      expect(r.code).toBe(5);
    });

    test("--userns keep-id runs as the user's own uid", () => {
      const r = pm(["run", "--rm", "--userns", "keep-id", img, "sh", "-c", "id -u; id -g"]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(`${u.uid}\n${u.gid}\n`);
      expect(r.code).toBe(0);
    });

    test("a pod of two containers sharing ipc and uts", () => {
      const p = n("pod");
      const made = pm(["pod", "create", "--name", p, "--infra-image", "localhost/dx-pause:latest", "--share", "ipc,uts", "--hostname", "podhost"]);
      expect(made.code).toBe(0);
      try {
        expect(pm(["run", "-d", "--pod", p, "--name", `${p}-a`, img, "sh", "-c", "echo from-a > /dev/shm/x; sleep 1000"]).code).toBe(0);
        let r = pm(["run", "--rm", "--pod", p, img, "sh", "-c", "cat /dev/shm/x; hostname"]);
        for (let i = 0; i < 20 && !r.stdout.includes("from-a"); i++) {
          Bun.sleepSync(100);
          r = pm(["run", "--rm", "--pod", p, img, "sh", "-c", "cat /dev/shm/x; hostname"]);
        }
        expect(r.stdout).toBe("from-a\npodhost\n");
        expect(r.code).toBe(0);
      } finally {
        expect(pm(["pod", "rm", "-f", "-t", "0", p]).code).toBe(0);
      }
    });
  });
}
