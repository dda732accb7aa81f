// What the runtime keeps for itself between commands that is not a container: the stub's
// executable copy and compiled seccomp filters. It lives outside every --root, because
// engines share a root between runc-type runtimes (dockerd gives them all one) and
// anything in it that is not a container trips the others' `list`. Both caches are keyed
// by their content, not by the root, so one dir serves every root.
import { lstatSync, mkdirSync } from "node:fs";

/** root's cache; /run is cleared at boot, as the kernel-dependent filters want. */
export const ROOT_CACHE_DIR = "/run/dx-runtime-cache";

let found: string | null | undefined;

/**
 * The cache dir, made on first use, or undefined where none can be trusted: it must be a
 * real dir owned by us that nobody else can write to, or what is found there could have
 * been planted. Without one the stub runs from a memfd and filters are compiled afresh.
 */
export function cacheDir(): string | undefined {
  if (found !== undefined) return found ?? undefined;
  const uid = process.geteuid?.() ?? 0;
  const xdg = process.env.XDG_RUNTIME_DIR;
  const dir = uid === 0 ? ROOT_CACHE_DIR : xdg ? `${xdg}/dx-runtime-cache` : undefined;
  found = null;
  if (!dir) return undefined;
  try {
    let st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) {
      try {
        mkdirSync(dir, { mode: 0o700 });
      } catch (e: any) {
        if (e?.code !== "EEXIST") return undefined;
      }
      st = lstatSync(dir);
    }
    if (st.isDirectory() && st.uid === uid && (st.mode & 0o022) === 0) found = dir;
  } catch {}
  return found ?? undefined;
}
