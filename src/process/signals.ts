import { RuntimeError } from "../errors";
import { allChars, isDigit } from "../chars";

const SIGNALS: Record<string, number> = {
  HUP: 1, INT: 2, QUIT: 3, ILL: 4, TRAP: 5, ABRT: 6, IOT: 6, BUS: 7, FPE: 8, KILL: 9, USR1: 10,
  SEGV: 11, USR2: 12, PIPE: 13, ALRM: 14, TERM: 15, STKFLT: 16, CHLD: 17, CONT: 18, STOP: 19,
  TSTP: 20, TTIN: 21, TTOU: 22, URG: 23, XCPU: 24, XFSZ: 25, VTALRM: 26, PROF: 27, WINCH: 28,
  IO: 29, POLL: 29, PWR: 30, SYS: 31,
};

/** "KILL", "SIGKILL", "9", "RTMIN+3" → number, as runc's kill accepts them. */
export function parseSignal(s: string | undefined): number {
  if (s === undefined || s === "") return 15;
  if (allChars(s, isDigit)) {
    const n = Number(s);
    // 0 is a signal too: it asks whether the container is still running.
    if (n > 64) throw new RuntimeError(`invalid signal: ${s}`);
    return n;
  }
  let name = s.toUpperCase();
  if (name.startsWith("SIG")) name = name.slice(3);
  // Only real-time names reach a regular expression (the first costs a process ~0.1 ms).
  const rt = name.startsWith("RT") ? (/^RTMIN(?:\+(\d+))?$/.exec(name) ?? /^RTMAX(?:-(\d+))?$/.exec(name)) : null;
  if (rt) {
    const off = Number(rt[1] ?? 0);
    const n = name.startsWith("RTMIN") ? 34 + off : 64 - off;
    if (n < 34 || n > 64) throw new RuntimeError(`invalid signal: ${s}`);
    return n;
  }
  const n = SIGNALS[name];
  if (n === undefined) throw new RuntimeError(`unknown signal "${s}"`);
  return n;
}
