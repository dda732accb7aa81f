// pause, resume, update, events: the commands that act on a running container's cgroup.
import { readFileSync } from "node:fs";
import type { LinuxResources, Spec } from "../spec/types";
import { RuntimeError } from "../errors";
import type { Context } from "../context";
import { OomWatch, statsEvent, type CgroupManager } from "../cgroups";
import { cgroupOf as recordedCgroup } from "./cgroup";
import { load } from "../state/status";
import { fsProbe } from "../state/probe";
import type { StoredState } from "../state/store";
import { out } from "../output";

function cgroupOf(st: StoredState): CgroupManager {
  const cg = recordedCgroup(st);
  if (!cg) throw new RuntimeError(`container ${st.id} has no cgroup (created rootless, where no cgroup was delegated)`);
  return cg;
}

export async function pause(ctx: Context, id: string): Promise<void> {
  await ctx.store.withLock(id, async () => {
    const { st, status } = await load(ctx.store, id, fsProbe);
    if (status !== "running" && status !== "created") throw new RuntimeError(`container ${id} is not running (status ${status})`);
    await cgroupOf(st).freeze();
  });
}

export async function resume(ctx: Context, id: string): Promise<void> {
  await ctx.store.withLock(id, async () => {
    const { st, status } = await load(ctx.store, id, fsProbe);
    if (status !== "paused") throw new RuntimeError(`container ${id} is not paused (status ${status})`);
    await cgroupOf(st).thaw();
  });
}

/** runc's update flags, in its spelling; values are strings as typed. */
export interface UpdateFlags {
  resources?: string;
  [flag: string]: string | undefined;
}

const UNITS: Record<string, number> = { "": 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** "512m", "1G", "1024", "-1": bytes, as runc's RAMInBytes reads them. */
export function parseBytes(flag: string, v: string): number {
  if (v === "-1") return -1;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(v.trim());
  if (!m) throw new RuntimeError(`update: invalid value for --${flag}: ${v}`);
  return Math.round(Number(m[1]) * UNITS[m[2]!.toLowerCase()]!);
}

function parseInt64(flag: string, v: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new RuntimeError(`update: invalid value for --${flag}: ${v}`);
  return Number(v);
}

/** The flags as a resources patch; --resources FILE (or -) is read whole. */
export function resourcesFromFlags(f: UpdateFlags): LinuxResources {
  let r: LinuxResources = {};
  if (f.resources) {
    let text: string;
    try {
      text = f.resources === "-" ? readFileSync(0, "utf8") : readFileSync(f.resources, "utf8");
    } catch (e: any) {
      throw new RuntimeError(`update: read ${f.resources}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
    }
    try {
      r = JSON.parse(text);
    } catch (e: any) {
      throw new RuntimeError(`update: ${f.resources}: invalid JSON: ${e.message}`);
    }
    if (!r || typeof r !== "object" || Array.isArray(r)) throw new RuntimeError(`update: ${f.resources}: must be a JSON object (linux.resources)`);
  }
  const set = <K extends keyof LinuxResources>(k: K): NonNullable<LinuxResources[K]> => (r[k] ??= {} as any) as any;
  const v = (name: string) => f[name];
  if (v("memory") !== undefined) set("memory").limit = parseBytes("memory", v("memory")!);
  if (v("memory-reservation") !== undefined) set("memory").reservation = parseBytes("memory-reservation", v("memory-reservation")!);
  if (v("memory-swap") !== undefined) set("memory").swap = parseBytes("memory-swap", v("memory-swap")!);
  if (v("kernel-memory") !== undefined) set("memory").kernel = parseBytes("kernel-memory", v("kernel-memory")!);
  if (v("kernel-memory-tcp") !== undefined) set("memory").kernelTCP = parseBytes("kernel-memory-tcp", v("kernel-memory-tcp")!);
  if (v("cpu-period") !== undefined) set("cpu").period = parseInt64("cpu-period", v("cpu-period")!);
  if (v("cpu-quota") !== undefined) set("cpu").quota = parseInt64("cpu-quota", v("cpu-quota")!);
  if (v("cpu-share") !== undefined) set("cpu").shares = parseInt64("cpu-share", v("cpu-share")!);
  if (v("cpu-rt-period") !== undefined) set("cpu").realtimePeriod = parseInt64("cpu-rt-period", v("cpu-rt-period")!);
  if (v("cpu-rt-runtime") !== undefined) set("cpu").realtimeRuntime = parseInt64("cpu-rt-runtime", v("cpu-rt-runtime")!);
  if (v("cpu-idle") !== undefined) set("cpu").idle = parseInt64("cpu-idle", v("cpu-idle")!);
  if (v("cpuset-cpus") !== undefined) set("cpu").cpus = v("cpuset-cpus");
  if (v("cpuset-mems") !== undefined) set("cpu").mems = v("cpuset-mems");
  if (v("pids-limit") !== undefined) set("pids").limit = parseInt64("pids-limit", v("pids-limit")!);
  if (v("blkio-weight") !== undefined) set("blockIO").weight = parseInt64("blkio-weight", v("blkio-weight")!);
  if (v("l3-cache-schema") !== undefined || v("mem-bw-schema") !== undefined)
    throw new RuntimeError("update: Intel RDT is not supported on this host");
  return r;
}

/** Shallow-per-section merge: a patch replaces the fields it names and keeps the rest. */
function merge(base: LinuxResources | undefined, patch: LinuxResources): LinuxResources {
  const out: any = structuredClone(base ?? {});
  for (const [k, v] of Object.entries(patch)) {
    if (v && typeof v === "object" && !Array.isArray(v) && out[k] && typeof out[k] === "object" && !Array.isArray(out[k]))
      out[k] = { ...out[k], ...v };
    else out[k] = v;
  }
  return out;
}

export async function update(ctx: Context, id: string, f: UpdateFlags): Promise<void> {
  const patch = resourcesFromFlags(f);
  await ctx.store.withLock(id, async () => {
    const { st, status } = await load(ctx.store, id, fsProbe);
    if (status === "stopped") throw new RuntimeError(`container ${id} is not running`);
    const spec = st.config as Spec;
    spec.linux ??= {};
    const merged = merge(spec.linux.resources, patch);
    // Only what changed is written; device rules only when the update names them.
    await cgroupOf(st).apply(patch, (m) => ctx.log.warn(m), { devices: patch.devices !== undefined });
    spec.linux.resources = merged;
    ctx.store.write(st);
  });
}

/** How often `events` looks for an OOM and for the container's end between stats lines. */
const EVENTS_TICK_MS = 200;

/**
 * events: one stats object with --stats; else a stats line every interval and an
 * `{"type":"oom","id":...}` line whenever the cgroup runs out of memory, until the
 * container stops.
 */
export async function events(ctx: Context, id: string, stats: boolean, intervalMs: number): Promise<void> {
  const first = await load(ctx.store, id, fsProbe);
  if (first.status === "stopped") throw new RuntimeError(`container with id ${id} is not running`);
  // Without a cgroup (rootless) there is nothing to measure: zeros, as runc prints, and no OOM to watch.
  const cg = recordedCgroup(first.st);
  const statsOf = cg ? () => cg.stats() : (require("../cgroups/stats") as typeof import("../cgroups/stats")).emptyStats;
  if (stats) {
    out(statsEvent(id, statsOf()) + "\n");
    return;
  }
  const oom = cg && new OomWatch(cg.version, cg.paths);
  const reportOom = () => {
    if (oom?.poll()) out(JSON.stringify({ type: "oom", id }) + "\n");
  };
  let nextStats = Date.now();
  for (;;) {
    reportOom();
    let status;
    try {
      status = (await load(ctx.store, id, fsProbe)).status;
    } catch {
      status = "stopped";
    }
    if (status === "stopped") {
      // An OOM kill of the init is what stopped it, often enough: it is still news.
      reportOom();
      return;
    }
    if (Date.now() >= nextStats) {
      try {
        out(statsEvent(id, statsOf()) + "\n");
      } catch (e: any) {
        ctx.log.warn(`events: ${e.message}`);
      }
      nextStats += intervalMs;
      if (nextStats < Date.now()) nextStats = Date.now() + intervalMs;
    }
    await Bun.sleep(Math.max(1, Math.min(EVENTS_TICK_MS, nextStats - Date.now())));
  }
}

export function parseInterval(v: string | undefined): number {
  if (!v) return 5000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new RuntimeError(`events: invalid --interval: ${v}`);
  const mult = { ms: 1, s: 1000, m: 60000, h: 3600000 }[(m[2] ?? "s") as "ms" | "s" | "m" | "h"];
  const ms = Number(m[1]) * mult;
  if (ms <= 0) throw new RuntimeError("events: --interval must be positive");
  return ms;
}
