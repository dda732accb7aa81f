// Which resource limits a config asks for, by name ("memory.limit", "pids.limit"):
// without a cgroup of its own a container can still run, but only if it asks for none.
import type { LinuxResources } from "../spec/types";

/**
 * Zero, false, empty strings, arrays and objects ask for nothing (runc's zero values);
 * nor does a pids limit of -1 (unlimited). Device rules are left out: in a user namespace
 * no device node can be made, and the ones bound in keep the host's permissions.
 */
export function limitsAsked(r: LinuxResources | undefined): string[] {
  const out: string[] = [];
  const walk = (v: unknown, name: string): void => {
    if (v === undefined || v === null || v === false || v === 0 || v === "") return;
    if (Array.isArray(v)) {
      if (v.length) out.push(name);
      return;
    }
    if (typeof v === "object") {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) walk(x, name ? `${name}.${k}` : k);
      return;
    }
    if (name === "pids.limit" && typeof v === "number" && v < 0) return;
    out.push(name);
  };
  for (const [k, v] of Object.entries(r ?? {})) if (k !== "devices") walk(v, k);
  return out;
}
