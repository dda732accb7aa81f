// The runtimes under test, each with its own state root, and how to call them.
import { existsSync, mkdirSync, realpathSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";

export interface Runtime {
  name: string;
  bin: string;
  root: string;
  /** argv for `RUNTIME --root ROOT ...args` */
  argv(...args: string[]): string[];
  /** argv for `RUNTIME ...args`, global flags given by the caller (as an engine gives them) */
  raw(...args: string[]): string[];
  /** extra per-call cost the harness adds for this runtime (ms), measured, reported, not subtracted */
  wrapperNote?: string;
}

export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":").concat(["/usr/sbin", "/usr/bin", "/sbin", "/bin"])) {
    const p = join(dir, cmd);
    if (existsSync(p)) return realpathSync(p);
  }
  return undefined;
}

export function plainRuntime(name: string, bin: string, tmp: string): Runtime {
  const root = join(tmp, `root-${name}`);
  mkdirSync(root, { recursive: true });
  return { name, bin, root, argv: (...args) => [bin, "--root", root, ...args], raw: (...args) => [bin, ...args] };
}

/**
 * crun 1.8 refuses hybrid cgroups while the cgroup2 mount at /sys/fs/cgroup/unified has
 * controllers (hugetlb here). It runs in a private mount namespace where that mount is
 * gone, which leaves the host's mounts untouched; entering it costs one nsenter exec per call.

 */
export class CrunNamespace {
  private holder?: Subprocess;

  async open(): Promise<number> {
    const holder = Bun.spawn(
      ["unshare", "-m", "--propagation", "private", "sh", "-c", "umount /sys/fs/cgroup/unified 2>/dev/null; echo ok; exec sleep 100000"],
      { stdout: "pipe", stderr: "inherit", stdin: "ignore" },
    );
    this.holder = holder;
    const reader = holder.stdout.getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    if (!value || !new TextDecoder().decode(value).startsWith("ok")) throw new Error("could not prepare a mount namespace for crun");
    return holder.pid;
  }

  close(): void {
    if (this.holder && this.holder.exitCode === null) this.holder.kill(9);
  }
}

export function crunRuntime(bin: string, tmp: string, nsPid: number): Runtime {
  const root = join(tmp, "root-crun");
  mkdirSync(root, { recursive: true });
  return {
    name: "crun",
    bin,
    root,
    argv: (...args) => ["nsenter", "-t", String(nsPid), "-m", "--wd=/", bin, "--root", root, ...args],
    raw: (...args) => ["nsenter", "-t", String(nsPid), "-m", "--wd=/", bin, ...args],
    wrapperNote: "crun is called through `nsenter -m` (its own mount namespace without the hybrid cgroup2 mount)",
  };
}

/**
 * An executable an engine can be pointed at (`--runc-binary`, `--runtime`) that runs crun
 * in a mount namespace of its own without the cgroup2 mount, made afresh on each call:
 * the host's mounts are private, so the rootfs an engine mounts just before `create`
 * reaches only a namespace made after it. Each call is counted in `calls` so that the
 * wrapper's cost can be taken out of an engine's end-to-end time.
 */
export function crunWrapper(bin: string, dir: string): { path: string; calls: string } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "crun-ns");
  const calls = join(dir, "crun-ns.calls");
  writeFileSync(
    path,
    `#!/bin/sh\necho >> ${calls}\nexec unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$0" "$@"' ${bin} "$@"\n`,
    { mode: 0o755 },
  );
  return { path, calls };
}
