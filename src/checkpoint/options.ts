// The flags checkpoint and restore share, read as runc reads them (checkpoint.go,
// restore.go): where the images go, what CRIU may touch, and how cgroups are handled.
import { mkdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import type minimist from "minimist";
import { RuntimeError } from "../errors";

export interface CheckpointOptions {
  imagePath: string;
  workPath?: string;
  /** relative to imagePath */
  parentPath?: string;
  leaveRunning: boolean;
  tcpEstablished: boolean;
  extUnixSk: boolean;
  shellJob: boolean;
  fileLocks: boolean;
  preDump: boolean;
  autoDedup: boolean;
  lazyPages: boolean;
  statusFd: number;
  pageServer?: { address: string; port: number };
  /** criu_cg_mode by name: SOFT, FULL, STRICT */
  manageCgroupsMode?: string;
  /** CLONE_NEW* flags of namespaces CRIU makes empty; the network always (no one restores its devices) */
  emptyNs: number;
  lsmProfile?: string;
  lsmMountContext?: string;
}




const CLONE_NEWNET = 0x40000000;
const CG_MODES: Record<string, string> = { soft: "SOFT", full: "FULL", strict: "STRICT" };

const last = (v: unknown): string | undefined => (v === undefined ? undefined : String(Array.isArray(v) ? v.at(-1) : v));
const all = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

/**
 * `restore`: runc 1.1 reads --manage-cgroups-mode on checkpoint only; a restore takes any
 * value and leaves CRIU's default. The container's cgroup is made and set before CRIU
 * runs (it restores into it), which a "strict" restore would refuse as existing.
 */
export function criuOptions(a: minimist.ParsedArgs, restore = false): CheckpointOptions {
  const imagePath = resolve(last(a["image-path"]) || join(process.cwd(), "checkpoint"));
  try {
    mkdirSync(imagePath, { recursive: true, mode: 0o700 });
  } catch (e: any) {
    throw new RuntimeError(`mkdir ${imagePath}: ${e.code ?? e.message}`);
  }
  const parentPath = last(a["parent-path"]) || undefined;
  if (parentPath) {
    if (isAbsolute(parentPath)) throw new RuntimeError("--parent-path must be relative");
    const real = join(imagePath, parentPath);
    let why: string | undefined;
    try {
      if (!statSync(real).isDirectory()) why = "not a directory";
    } catch (e: any) {
      why = e.code === "ENOENT" ? "no such file or directory" : (e.code ?? e.message);
    }
    if (why) throw new RuntimeError(`invalid --parent-path: stat ${real}: ${why}`);
  }
  const sfd = last(a["status-fd"]);
  const statusFd = sfd === undefined || sfd === "" ? -1 : Number(sfd);
  if (!Number.isInteger(statusFd)) throw new RuntimeError(`invalid value "${sfd}" for flag -status-fd`);
  let pageServer: CheckpointOptions["pageServer"];
  const ps = last(a["page-server"]);
  if (ps) {
    const at = ps.lastIndexOf(":");
    let address = at < 0 ? "" : ps.slice(0, at);
    const port = at < 0 ? "" : ps.slice(at + 1);
    if (address.startsWith("[") && address.endsWith("]")) address = address.slice(1, -1);
    if (!address || !port) throw new RuntimeError("Use --page-server ADDRESS:PORT to specify page server");
    if (!/^\d+$/.test(port)) throw new RuntimeError("Invalid port number");
    pageServer = { address, port: Number(port) };
  }
  let manageCgroupsMode: string | undefined;
  const cg = restore ? undefined : last(a["manage-cgroups-mode"]);
  if (cg) {
    manageCgroupsMode = CG_MODES[cg];
    if (!manageCgroupsMode) throw new RuntimeError("Invalid manage cgroups mode");
  }
  let emptyNs = CLONE_NEWNET;
  for (const ns of all(a["empty-ns"])) {
    if (ns !== "network") throw new RuntimeError(`namespace "${ns}" is not supported`);
    emptyNs |= CLONE_NEWNET;
  }
  return {
    imagePath,
    workPath: last(a["work-path"]) ? resolve(last(a["work-path"])!) : undefined,
    parentPath,
    leaveRunning: !!a["leave-running"],
    tcpEstablished: !!a["tcp-established"],
    extUnixSk: !!a["ext-unix-sk"],
    shellJob: !!a["shell-job"],
    fileLocks: !!a["file-locks"],
    preDump: !!a["pre-dump"],
    autoDedup: !!a["auto-dedup"],
    lazyPages: !!a["lazy-pages"],
    statusFd,
    pageServer,
    manageCgroupsMode,
    emptyNs,
    lsmProfile: last(a["lsm-profile"]) || undefined,
    lsmMountContext: last(a["lsm-mount-context"]) || undefined,
  };
}

/** A dir CRIU gets by fd (it opens /proc/<our pid>/fd/N): made if missing, as runc does. */
export function ensureDir(path: string): void {
  try {
    mkdirSync(path, { mode: 0o700 });
  } catch (e: any) {
    if (e.code !== "EEXIST") throw new RuntimeError(`mkdir ${path}: ${e.code ?? e.message}`);
  }
}

/** The CRIU config file runc names: the org.criu.config annotation, else /etc/criu/runc.conf. */
export function configFile(annotations: Record<string, string> | undefined): string | undefined {
  if (annotations && "org.criu.config" in annotations) return annotations["org.criu.config"] || undefined;
  return "/etc/criu/runc.conf";
}
