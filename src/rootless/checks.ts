// What a runtime without CAP_SYS_RESOURCE in the initial user namespace cannot grant,
// said before the container is started rather than as a bare EPERM from its setup. A
// new user namespace does not help: these limits are checked against the initial one.
import { readFileSync } from "node:fs";
import { RuntimeError } from "../errors";
import { rlimitNumber } from "../process/rlimits";

/** Hard limits of this process by resource number, from /proc/self/limits (rows in resource order). */
export function hardLimits(text = readFileSync("/proc/self/limits", "latin1")): number[] {
  const out: number[] = [];
  for (const line of text.split("\n").slice(1)) {
    if (!line.trim()) continue;
    const hard = line.slice(47, 68).trim();
    out.push(hard === "unlimited" ? Infinity : Number(hard));
  }
  return out;
}

/** A hard limit above ours cannot be set: one line naming it. */
export function checkRlimits(rlimits: { type: string; hard: number; soft: number }[] | undefined): void {
  if (!rlimits?.length) return;
  const hard = hardLimits();
  for (const r of rlimits) {
    const n = rlimitNumber(r.type);
    const cur = n === undefined ? undefined : hard[n];
    if (cur === undefined || cur === Infinity) continue;
    // 2^64-1 (RLIM_INFINITY) does not fit a double exactly; anything that large is unlimited.
    if (r.hard > cur)
      throw new RuntimeError(
        `process.rlimits ${r.type}: hard limit ${r.hard >= 2 ** 63 ? "unlimited" : r.hard} is above this user's hard limit ${cur}, and raising it needs CAP_SYS_RESOURCE (rootless)`,
      );
  }
}

/** Why writing oom_score_adj failed, when the reason is that it goes below ours. */
export function oomScoreAdjError(value: number, pid: number, code: string): string {
  let own: number | undefined;
  try {
    own = Number(readFileSync("/proc/self/oom_score_adj", "latin1").trim());
  } catch {}
  if (own !== undefined && value < own)
    return `process.oomScoreAdj ${value} is below this user's ${own}, and lowering it needs CAP_SYS_RESOURCE (rootless)`;
  return `process.oomScoreAdj ${value}: write /proc/${pid}/oom_score_adj: ${code}`;
}
