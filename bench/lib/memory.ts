// What a container costs while it waits in `created`: every process that belongs to it
// (the reported pid, its descendants, and whatever else sits in its cgroup), none of
// which has exec'd the user's program yet.
import { readFileSync, readdirSync } from "node:fs";

export interface WaitingMemory {
  rssKiB: number;
  pssKiB: number;
  procs: { pid: number; comm: string; rssKiB: number; pssKiB: number }[];
}

function cgroupMembers(pid: number): number[] {
  let lines: string[];
  try {
    lines = readFileSync(`/proc/${pid}/cgroup`, "utf8").trim().split("\n");
  } catch {
    return [];
  }
  // v1 memory or pids hierarchy, else the unified one: all name the container's cgroup.
  const pick = (re: RegExp) => lines.map((l) => l.split(":")).find((f) => re.test(f[1] ?? ""));
  const candidates: [string | undefined, string][] = [
    [pick(/(^|,)memory(,|$)/)?.[2], "/sys/fs/cgroup/memory"],
    [pick(/(^|,)pids(,|$)/)?.[2], "/sys/fs/cgroup/pids"],
    [lines.map((l) => l.split(":")).find((f) => f[0] === "0")?.[2], "/sys/fs/cgroup/unified"],
  ];
  for (const [path, mount] of candidates) {
    if (!path || path === "/") continue;
    try {
      return readFileSync(`${mount}${path}/cgroup.procs`, "utf8").trim().split("\n").filter(Boolean).map(Number);
    } catch {}
  }
  return [];
}

function parents(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = kids.get(ppid) ?? [];
      list.push(Number(name));
      kids.set(ppid, list);
    } catch {}
  }
  return kids;
}

export function containerProcesses(initPid: number): number[] {
  const set = new Set<number>([initPid, ...cgroupMembers(initPid)]);
  const kids = parents();
  const queue = [...set];
  while (queue.length) {
    for (const k of kids.get(queue.pop()!) ?? []) {
      if (!set.has(k)) {
        set.add(k);
        queue.push(k);
      }
    }
  }
  return [...set].sort((a, b) => a - b);
}

function rollup(pid: number): { rssKiB: number; pssKiB: number } {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
  return { rssKiB: field("Rss"), pssKiB: field("Pss") };
}

export function waitingMemory(initPid: number): WaitingMemory {
  const procs = containerProcesses(initPid).map((pid) => {
    const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
    return { pid, comm, ...rollup(pid) };
  });
  return {
    rssKiB: procs.reduce((a, p) => a + p.rssKiB, 0),
    pssKiB: procs.reduce((a, p) => a + p.pssKiB, 0),
    procs,
  };
}
