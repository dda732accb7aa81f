// ps: the container's pids from its cgroup; as a table, the host's ps output filtered to them.
import type { Context } from "./context";
import { RuntimeError } from "./errors";
import { load } from "../state/status";
import { fsProbe } from "../state/probe";
import { cgroupOf } from "../container/cgroup";
import { out } from "./output";

export async function ps(ctx: Context, id: string, format: string, psArgs: string[]): Promise<number> {
  const { st, status } = await load(ctx.store, id, fsProbe);
  if (status === "stopped") throw new RuntimeError(`container ${id} is not running`);
  const cg = cgroupOf(st);
  const pids = cg ? cg.pids() : (require("../rootless/pids") as typeof import("../rootless/pids")).pidsWithoutCgroup(st.pid);
  if (format === "json") {
    out(JSON.stringify(pids) + "\n");
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
