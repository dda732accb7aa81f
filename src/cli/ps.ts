// ps: the container's pids from its cgroup; as a table, the host's ps output filtered to them.
import type { Context } from "../context";
import { RuntimeError } from "../errors";
import { load } from "../state/status";
import { fsProbe } from "../state/probe";
import { cgroupOf } from "../container/cgroup";
import { out } from "../output";
import type { StoredState } from "../state/store";

export async function ps(ctx: Context, id: string, format: string, psArgs: string[]): Promise<number> {
  const { st, status } = await load(ctx.store, id, fsProbe);
  const pids =
    status === "stopped"
      ? leftIn(st)
      : (cgroupOf(st)?.pids() ?? (require("../rootless/pids") as typeof import("../rootless/pids")).pidsWithoutCgroup(st.pid));
  if (format === "json") {
    // Go encodes runc's empty (nil) list as null.
    out((pids.length ? JSON.stringify(pids) : "null") + "\n");
    return 0;
  }
  if (format !== "table") throw new RuntimeError(`invalid format option: ${format}`);
  const r = Bun.spawnSync(["ps", ...(psArgs.length ? psArgs : ["-ef"])]);
  if (r.exitCode !== 0) throw new RuntimeError(`ps: ${new TextDecoder().decode(r.stderr).trim()}`);
  const lines = new TextDecoder().decode(r.stdout).split("\n");
  const header = lines[0] ?? "";
  const pidCol = header.trim().split(/\s+/).indexOf("PID");
  if (pidCol < 0) throw new RuntimeError("ps: could not find the PID column");
  const want = new Set(pids);
  out(header + "\n");
  for (const l of lines.slice(1)) {
    const f = l.trim().split(/\s+/);
    if (want.has(Number(f[pidCol]))) out(l + "\n");
  }
  return 0;
}

/** A stopped container's processes, as runc lists them: whatever its cgroup still holds. */
function leftIn(st: StoredState): number[] {
  try {
    return cgroupOf(st)?.pids() ?? [];
  } catch {
    return [];
  }
}
