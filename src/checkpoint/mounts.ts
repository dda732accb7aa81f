// What CRIU must be told about the container's mounts: the ones whose source lies
// outside the container (bind mounts, masked files, device nodes) are "external" and
// dumped by name only; restore maps each name back to a host path. Restore also makes
// the mount points, as create would have, before CRIU mounts anything there.
import { existsSync, lstatSync, mkdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type { Mount, Spec } from "../spec/types";
import { bindMount, detach } from "./sys";

/** runc's default device nodes, which it adds to every config's devices. */
const DEFAULT_DEVICES = ["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

const isBind = (m: Mount): boolean => m.type === "bind" || (!m.type && !!m.options?.some((o) => o === "bind" || o === "rbind"));

/**
 * `path` inside `root` with every symlink resolved inside it too (a link to /x means
 * root/x), returned relative to root ("/a/b"). What is missing is taken as written.
 */
export function containerPath(root: string, path: string): string {
  const parts = path.split("/").filter((p) => p && p !== ".");
  const out: string[] = [];
  let links = 0;
  while (parts.length) {
    const p = parts.shift()!;
    if (p === "..") {
      out.pop();
      continue;
    }
    const here = join(root, ...out, p);
    let target: string | undefined;
    try {
      if (lstatSync(here).isSymbolicLink()) target = readlinkSync(here);
    } catch {}
    if (target !== undefined && links++ < 255) {
      if (isAbsolute(target)) out.length = 0;
      parts.unshift(...target.split("/").filter((x) => x && x !== "."));
      continue;
    }
    out.push(p);
  }
  return "/" + out.join("/");
}

/** Sources as runc reads them: a relative bind source is the bundle's. */
export function mountSource(bundle: string, m: Mount): string {
  const s = m.source ?? "";
  return isBind(m) && !isAbsolute(s) ? resolve(bundle, s) : s;
}

export interface ExtMount {
  key: string;
  val: string;
}

/** ext_mnt for a dump: every external mount keyed by its path in the container. */
export function dumpExternalMounts(spec: Spec, rootfs: string, initPid: number): ExtMount[] {
  const out: ExtMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (!isBind(m)) continue;
    const key = containerPath(rootfs, m.destination);
    out.push({ key, val: key });
  }
  // A masked file is /dev/null bound over it; a masked dir is a tmpfs CRIU dumps itself.
  for (const p of spec.linux?.maskedPaths ?? []) {
    try {
      if (statSync(`/proc/${initPid}/root${p}`).isDirectory()) continue;
    } catch {
      continue;
    }
    out.push({ key: p, val: "/dev/null" });
  }
  for (const d of devicePaths(spec)) {
    const key = containerPath(rootfs, d);
    out.push({ key, val: key });
  }
  return out;
}

/** ext_mnt for a restore: the same names, each bound to its host source. */
export function restoreExternalMounts(spec: Spec, bundle: string, rootfs: string): ExtMount[] {
  const out: ExtMount[] = [];
  for (const m of spec.mounts ?? []) {
    if (!isBind(m)) continue;
    out.push({ key: containerPath(rootfs, m.destination), val: mountSource(bundle, m) });
  }
  if (spec.linux?.maskedPaths?.length) out.push({ key: "/dev/null", val: "/dev/null" });
  for (const d of devicePaths(spec)) out.push({ key: containerPath(rootfs, d), val: d });
  return out;
}

function devicePaths(spec: Spec): string[] {
  const seen = new Set<string>();
  for (const d of spec.linux?.devices ?? []) seen.add(d.path);
  for (const d of DEFAULT_DEVICES) seen.add(d);
  return [...seen];
}

/**
 * Makes the mount points a restore needs, as runc does (prepareCriuRestoreMounts): a
 * file or dir for each bind mount by its source's kind, a dir for anything else, none
 * below a tmpfs (CRIU restores a tmpfs with its content). Bind mounts are bound for the
 * time of the restore, so mount points inside them can be made and found; the returned
 * function takes them down again.
 */
export function prepareRestoreMounts(spec: Spec, bundle: string, rootfs: string): () => void {
  const mounts = spec.mounts ?? [];
  const tmpfs = mounts.filter((m) => m.type === "tmpfs").map((m) => m.destination.replace(/\/+$/, ""));
  const bound: string[] = [];
  const undo = () => {
    for (const p of bound.reverse()) detach(p);
  };
  try {
    for (const m of mounts) {
      if (tmpfs.some((t) => m.destination.startsWith(t + "/"))) continue;
      if (m.type === "cgroup") continue;
      const dest = join(rootfs, containerPath(rootfs, m.destination));
      if (isBind(m)) {
        const src = mountSource(bundle, m);
        const dir = statSync(src).isDirectory();
        if (dir) mkdirSync(dest, { recursive: true, mode: 0o755 });
        else if (!existsSync(dest)) {
          mkdirSync(join(dest, ".."), { recursive: true, mode: 0o755 });
          writeFileSync(dest, "", { mode: 0o755 });
        }
        bindMount(src, dest);
        bound.push(dest);
      } else mkdirSync(dest, { recursive: true, mode: 0o755 });
    }
  } catch (e) {
    undo();
    throw e;
  }
  return undo;
}
