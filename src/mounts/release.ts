// A container without a mount namespace of its own makes its mounts in the runtime's,
// under its rootfs; nothing takes them away when its processes end, so delete does.
import type { Spec } from "../spec/types";
import { close, O_CLOEXEC, tryOpen, umountDetach } from "../native/libc";

const O_PATH = 0o10000000;
const O_NOFOLLOW = 0o400000;

export function sharesHostMountNs(spec: Spec | undefined): boolean {
  // A loop, and node:path only past this: every delete asks (see cgroups/files.ts).
  for (const n of spec?.linux?.namespaces ?? []) if (n.type === "mount") return false;
  return true;
}

/** Mount points as mountinfo spells them, with its octal escapes undone. */
function mountPoints(): Set<string> {
  const out = new Set<string>();
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  for (const line of readFileSync("/proc/self/mountinfo", "latin1").split("\n")) {
    const f = line.split(" ");
    if (f.length > 4) out.add(f[4]!.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/**
 * Lazily unmounts, deepest last-made first, each config mount (and bound device) still
 * mounted under the rootfs. Only the exact paths the config named are touched, each
 * through an fd whose real path is checked first, so a symlink the container planted
 * cannot turn the unmount onto a host mount.
 */
export function releaseHostMounts(rootfs: string, spec: Spec | undefined, warn: (m: string) => void): void {
  if (!spec || !sharesHostMountNs(spec)) return;
  const { join, resolve } = require("node:path") as typeof import("node:path");
  const targets = [...(spec.mounts ?? []).map((m) => m.destination), ...(spec.linux?.devices ?? []).map((d) => d.path)]
    .map((d) => join(rootfs, resolve("/", d)))
    .reverse();
  let mounted = mountPoints();
  for (const t of targets) {
    if (!mounted.has(t)) continue;
    const fd = tryOpen(t, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) continue;
    try {
      if ((require("node:fs") as typeof import("node:fs")).readlinkSync(`/proc/self/fd/${fd}`) !== t) continue;
      if (!umountDetach(`/proc/self/fd/${fd}`)) warn(`unmount ${t} failed`);
    } finally {
      close(fd);
    }
    // A detached parent takes its children with it.
    mounted = mountPoints();
  }
}
