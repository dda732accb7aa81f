// A container's processes when it has no cgroup to list them (rootless without a
// delegated one): everything in its init's pid namespace when that is its own, else
// the init and its descendants.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

function nsOf(pid: number | "self"): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return undefined;
  }
}

function ppidOf(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "latin1");
    return Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]);
  } catch {
    return -1;
  }
}

export function pidsWithoutCgroup(init: number): number[] {
  const all: number[] = [];
  for (const name of readdirSync("/proc")) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0) all.push(pid);
  }
  const ns = nsOf(init);
  if (ns && ns !== nsOf("self")) return all.filter((p) => p === init || nsOf(p) === ns);
  const parent = new Map(all.map((p) => [p, ppidOf(p)]));
  const inside = new Set([init]);
  // Ancestors come before their children in no guaranteed order: repeat until stable.
  for (let grew = true; grew; ) {
    grew = false;
    for (const [p, pp] of parent) if (!inside.has(p) && inside.has(pp)) (inside.add(p), (grew = true));
  }
  return all.filter((p) => inside.has(p));
}
