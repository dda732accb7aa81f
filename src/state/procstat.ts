// /proc/PID/stat as text, parsed; no file access here, so the readers can differ
// (node:fs where it is loaded anyway, Bun's files where nothing else needs node:fs).

export interface ProcStat {
  /** the name the kernel shows (the init stub calls itself "dx-init" until it execs) */
  comm: string;
  state: string;
  ppid: number;
  startTime: number;
}

export function parseStat(s: string): ProcStat {
  // comm may contain spaces and parentheses: fields resume after the last ')'.
  const close = s.lastIndexOf(")");
  const rest = s.slice(close + 2).split(" ");
  return { comm: s.slice(s.indexOf("(") + 1, close), state: rest[0]!, ppid: Number(rest[1]), startTime: Number(rest[19]) };
}

/** Alive and the same process: running or sleeping, not a zombie, matching start time. */
export function aliveAs(st: ProcStat | null, startTime: number): boolean {
  if (!st) return false;
  if (st.state === "Z" || st.state === "X") return false;
  return !startTime || st.startTime === startTime;
}
