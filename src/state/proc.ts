// Facts about a live process, read from /proc. A pid is only "the container" when its
// start time matches the one recorded at create: pids are recycled.
import { readFileSync } from "node:fs";

export interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

export function procStat(pid: number): ProcStat | null {
  let s: string;
  try {
    s = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return null;
  }
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  const rest = s.slice(s.lastIndexOf(")") + 2).split(" ");
  return { state: rest[0]!, ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** Alive and the same process: running or sleeping, not a zombie, matching start time. */
export function isAlive(pid: number, startTime: number): boolean {
  if (!pid) return false;
  const st = procStat(pid);
  if (!st) return false;
  if (st.state === "Z" || st.state === "X") return false;
  return !startTime || st.startTime === startTime;
}
