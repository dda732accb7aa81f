// Id maps of a container's new user namespace when the runtime is not root. The kernel
// lets an unprivileged user map only its own uid and gid, one id each, and the gid
// only once setgroups(2) is denied in the namespace; anything wider goes through the
// setuid helpers newuidmap/newgidmap, which check /etc/subuid and /etc/subgid. This is
// the order runc's nsexec follows.
import { writeFileSync } from "node:fs";
import { RuntimeError } from "../errors";
import { inUserNamespace } from "./userns";

export interface IdMap {
  containerID: number;
  hostID: number;
  size: number;
}

const text = (maps: IdMap[]) => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join("\n") + "\n";

/** Only our own gid, mapped alone: the one case that needs setgroups denied (and no helper). */
export function needsSetgroupsDeny(gid: IdMap[], egid = process.getegid?.() ?? 0): boolean {
  return gid.length === 1 && gid[0]!.containerID === 0 && gid[0]!.hostID === egid && gid[0]!.size === 1;
}

function helper(tool: "newuidmap" | "newgidmap", pid: number, maps: IdMap[]): void {
  const args = [tool, String(pid)];
  for (const m of maps) args.push(String(m.containerID), String(m.hostID), String(m.size));
  let r;
  try {
    r = Bun.spawnSync(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch {
    throw new RuntimeError(`${tool} not found: mapping more than the user's own id needs it (the uidmap package)`);
  }
  if (r.exitCode !== 0) {
    const why = new TextDecoder().decode(r.stderr).trim().split("\n").pop() ?? `exit ${r.exitCode}`;
    throw new RuntimeError(`${tool} ${args.slice(1).join(" ")}: ${why}`);
  }
}

function writeMap(kind: "uid" | "gid", pid: number, maps: IdMap[]): void {
  try {
    writeFileSync(`/proc/${pid}/${kind}_map`, text(maps));
    return;
  } catch (e: any) {
    if (e?.code !== "EPERM") throw new RuntimeError(`write /proc/${pid}/${kind}_map: ${e?.code ?? e}`);
  }
  helper(kind === "uid" ? "newuidmap" : "newgidmap", pid, maps);
}

export function writeIdMapsRootless(pid: number, uid: IdMap[], gid: IdMap[]): void {
  if (needsSetgroupsDeny(gid)) {
    try {
      writeFileSync(`/proc/${pid}/setgroups`, "deny");
    } catch (e: any) {
      if (e?.code !== "ENOENT") throw new RuntimeError(`write /proc/${pid}/setgroups: ${e?.code ?? e}`);
    }
  }
  writeMap("uid", pid, uid);
  writeMap("gid", pid, gid);
}

/**
 * Whether the container's processes may call setgroups(2): never for a runtime with a
 * non-zero euid (as runc: a single gid mapping has it denied, and the helpers' mappings
 * need not cover the image's groups), and not where the user namespace we run in denies it.
 */
export function setgroupsAllowed(euid = process.geteuid?.() ?? 0): boolean {
  if (euid !== 0) return false;
  if (!inUserNamespace()) return true;
  try {
    return (require("node:fs") as typeof import("node:fs")).readFileSync("/proc/self/setgroups", "latin1").trim() !== "deny";
  } catch {
    return true;
  }
}
