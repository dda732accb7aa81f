// The name `list` shows as a container's owner: whoever ran create, as runc shows it.

/** The user name of `uid` from /etc/passwd, or the number where it has none. */
export function userName(uid = process.geteuid?.() ?? 0): string {
  if (uid === 0) return "root";
  try {
    const text = (require("node:fs") as typeof import("node:fs")).readFileSync("/etc/passwd", "utf8");
    for (const line of text.split("\n")) {
      const f = line.split(":");
      if (f.length >= 3 && Number(f[2]) === uid && f[2] !== "") return f[0]!;
    }
  } catch {}
  return String(uid);
}
