// Whether this process runs in a user namespace other than the initial one: the
// initial namespace's uid_map is the whole range mapped onto itself, and any other
// map means someone made a namespace around us (podman's, for one).

/** One line "0 0 4294967295": the initial user namespace (as runc's userns package reads it). */
export function isInitialUidMap(text: string): boolean {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) return false;
  const f = lines[0]!.trim().split(/\s+/);
  return f.length === 3 && f[0] === "0" && f[1] === "0" && f[2] === "4294967295";
}

let cached: boolean | undefined;

/** True inside a user namespace; false in the initial one or where the kernel has none. */
export function inUserNamespace(): boolean {
  if (cached !== undefined) return cached;
  let text: string;
  try {
    text = (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/self/uid_map", "latin1");
  } catch {
    // No uid_map: a kernel without user namespaces, so the initial one.
    return (cached = false);
  }
  return (cached = !isInitialUidMap(text));
}
