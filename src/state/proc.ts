// Facts about a live process, read from /proc. A pid is only "the container" when its
// start time matches the one recorded at create: pids are recycled.
import { readFileSync } from "node:fs";
import { aliveAs, parseStat, type ProcStat } from "./procstat";

export type { ProcStat };

export function procStat(pid: number): ProcStat | null {
  try {
    return parseStat(readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return null;
  }
}

export function isAlive(pid: number, startTime: number): boolean {
  return !!pid && aliveAs(procStat(pid), startTime);
}
