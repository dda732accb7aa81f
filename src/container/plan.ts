// Every decision about a container, made before clone: the result is the ordered list
// of steps that dx-init executes (native/PROTOCOL.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Hook, LinuxNamespace, Process, Spec } from "../spec/types";
import { CloneMode, Op, type Step } from "../native/protocol";
import { deviceSteps, devIsHostBind, rootfsSteps, type CgroupMountInfo } from "../mounts/plan";
import { MS } from "../mounts/options";
import { hostPseudoMounts, realPath } from "../mounts/mountinfo";
import { capMask } from "../process/capabilities";
import { rlimitNumber } from "../process/rlimits";
import { affinityStep, confinementSteps } from "../process/confine";
import { RuntimeError } from "../errors";
import type { CompiledSeccomp } from "../seccomp";
import type { CgroupJoin } from "../cgroups/manager";

export const CLONE_FLAG: Record<string, number> = {
  mount: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  network: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
};

/** setns order: the user namespace first (it grants the rights for the rest), mount last (it changes what paths mean). */
const JOIN_ORDER = ["user", "ipc", "uts", "network", "pid", "cgroup", "time", "mount"];

/** /proc/PID/ns/<name> for each spec namespace type. */
export const NS_PROC_NAME: Record<string, string> = {
  mount: "mnt",
  uts: "uts",
  ipc: "ipc",
  user: "user",
  pid: "pid",
  network: "net",
  cgroup: "cgroup",
  time: "time",
};

/** PIVOT mode for a container in the runtime's mount namespace: chroot only. */
const PIVOT_CHROOT = 2;

const str = (s: string) => ({ str: s });
const u64 = (n: number | bigint) => ({ u64: n });

export interface NamespacePlan {
  /** types created new for this container */
  created: Set<string>;
  /** types joined, with the path */
  joined: Map<string, string>;
}

export function namespacePlan(namespaces: LinuxNamespace[] | undefined): NamespacePlan {
  const created = new Set<string>();
  const joined = new Map<string, string>();
  for (const ns of namespaces ?? []) {
    if (!(ns.type in CLONE_FLAG)) throw new RuntimeError(`namespace type "${ns.type}" is not supported`);
    if (created.has(ns.type) || joined.has(ns.type)) throw new RuntimeError(`duplicate namespace type "${ns.type}"`);
    if (ns.path) joined.set(ns.type, ns.path);
    else created.add(ns.type);
  }
  return { created, joined };
}

/**
 * A hook the stub runs. `cwd` empty: the stub's own, which for startContainer is the
 * process's cwd; runc runs createContainer hooks from the rootfs (its host path, before
 * the pivot), so that a relative path in one names a file of the container.
 */
export function hookStep(point: "createContainer" | "startContainer", h: Hook, index: number, cwd: string): Step {
  return {
    op: Op.HOOK,
    fields: [u64(h.timeout ?? 0), str(h.path), { strv: h.args ?? [h.path] }, { strv: h.env ?? [] }, str(cwd), str(hookLabel(point, index, h.path))],
  };
}

/** How an error names a hook: "error running hook #0 (startContainer, /bin/sh): ...", close to runc's words. */
export function hookLabel(point: string, index: number, path: string): string {
  return `hook #${index} (${point}, ${path})`;
}

/** Steps in P: rlimits, then the namespaces to join, then a time namespace, then clone. */
export function parentSteps(proc: Process | undefined, ns: NamespacePlan, timeOffsets: string | undefined, mode: number, skipCloneFlags = 0, cgroupJoin?: CgroupJoin): Step[] {
  const steps: Step[] = [];
  // First, while P is still the host's root in the host's namespaces.
  if (cgroupJoin) steps.push({ op: Op.CGROUP_JOIN, fields: [{ strv: cgroupJoin.tasks }, str(cgroupJoin.into), { strv: cgroupJoin.leave }] });
  // execCPUAffinity.initial pins the setup itself, before it joins anything.
  const initial = affinityStep(proc?.execCPUAffinity?.initial, "process.execCPUAffinity.initial");
  if (initial) steps.push(initial);
  for (const r of proc?.rlimits ?? []) {
    const n = rlimitNumber(r.type);
    if (n === undefined) throw new RuntimeError(`rlimit: unknown type ${JSON.stringify(r.type)}`);
    if (r.soft > r.hard) throw new RuntimeError(`rlimit ${r.type}: soft limit ${r.soft} exceeds hard limit ${r.hard}`);
    steps.push({ op: Op.RLIMIT, fields: [u64(n), u64(BigInt(r.soft)), u64(BigInt(r.hard))] });
  }
  for (const t of JOIN_ORDER) {
    const p = ns.joined.get(t);
    if (p) steps.push({ op: Op.SETNS, fields: [u64(CLONE_FLAG[t]!), str(p)] });
  }
  if (ns.created.has("time")) steps.push({ op: Op.TIMENS, fields: [str(timeOffsets ?? "")] });
  let flags = 0;
  // A cgroup namespace is unshared by the child once the runtime has put it in its cgroup,
  // so the namespace's root is the container's cgroup; a time namespace came from TIMENS.
  for (const t of ns.created) if (t !== "cgroup" && t !== "time") flags |= CLONE_FLAG[t]!;
  flags &= ~skipCloneFlags;
  steps.push({ op: Op.CLONE, fields: [u64(flags), u64(mode)] });
  return steps;
}

export function timeOffsetsText(spec: Spec): string | undefined {
  const t = spec.linux?.timeOffsets;
  if (!t) return undefined;
  const lines: string[] = [];
  for (const [clock, v] of Object.entries(t)) {
    if (!v) continue;
    lines.push(`${clock} ${v.secs ?? 0} ${v.nanosecs ?? 0}`);
  }
  return lines.join("\n");
}

/** HOME from the image's /etc/passwd, as a login would set it. */
function homeFor(rootfs: string, uid: number): string {
  try {
    for (const line of readFileSync(join(rootfs, "etc/passwd"), "utf8").split("\n")) {
      const f = line.split(":");
      if (f.length >= 6 && Number(f[2]) === uid) return f[5] || "/";
    }
  } catch {}
  return "/";
}

export function processEnv(proc: Process, rootfs: string | null): string[] {
  const env = [...(proc.env ?? [])];
  if (rootfs !== null && !env.some((e) => e.startsWith("HOME="))) env.push(`HOME=${homeFor(rootfs, proc.user?.uid ?? 0)}`);
  return env;
}

function pathVar(env: string[]): string {
  for (let i = env.length - 1; i >= 0; i--) if (env[i]!.startsWith("PATH=")) return env[i]!.slice(5);
  return "";
}

export interface ProcessPlanInput {
  proc: Process;
  env: string[];
  keepFds: number;
  seccomp?: CompiledSeccomp;
  warn: (m: string) => void;
  terminal: boolean;
  /** whether this process is alone in a fresh session (false for exec without a tty) */
  setsid: boolean;
  /** false where setgroups(2) is not allowed (src/rootless/idmap.ts): the groups are left alone */
  setgroups?: boolean;
}

/** From the working directory to execve: the part shared by create and exec. */
export function lookupSteps(inp: ProcessPlanInput): Step[] {
  const args = inp.proc.args ?? [];
  if (!args.length) throw new RuntimeError("process.args must not be empty");
  return [
    { op: Op.CHDIR, fields: [str(inp.proc.cwd)] },
    { op: Op.LOOKUP, fields: [str(args[0]!), str(pathVar(inp.env))] },
  ];
}

export function credentialSteps(inp: ProcessPlanInput): Step[] {
  const steps: Step[] = [];
  const p = inp.proc;
  const nnp = !!p.noNewPrivileges;
  // Loading a filter without no_new_privs needs CAP_SYS_ADMIN, which is about to go:
  // so it is loaded before the capabilities drop and then covers setuid and capset too.
  if (inp.seccomp && !nnp) steps.push(seccompStep(inp.seccomp));
  const caps = p.capabilities;
  if (caps) steps.push({ op: Op.CAPS_BOUNDING, fields: [u64(capMask(caps.bounding, inp.warn))] });
  const u = p.user ?? {};
  const groups = u.additionalGids ?? [];
  const setgroups = inp.setgroups !== false;
  if (!setgroups && groups.length) throw new RuntimeError("process.user.additionalGids: cannot set any additional groups in a rootless container");
  steps.push({
    op: Op.IDENTITY,
    fields: [u64(u.uid ?? 0), u64(u.gid ?? 0), u64(setgroups ? 1 : 0), u64(groups.length), ...groups.map((g) => u64(g))],
  });
  if (caps) {
    const permitted = capMask(caps.permitted, inp.warn);
    const inheritable = capMask(caps.inheritable, inp.warn);
    // The kernel raises an ambient cap only if it is permitted and inheritable; runc
    // carries on past the ones it cannot raise, so they are left out here, not fatal.
    const ambient = capMask(caps.ambient, inp.warn) & permitted & inheritable;
    steps.push({
      op: Op.CAPS,
      fields: [u64(capMask(caps.effective, inp.warn)), u64(permitted), u64(inheritable), u64(ambient)],
    });
  }
  if (nnp) steps.push({ op: Op.NO_NEW_PRIVS, fields: [] });
  if (inp.seccomp && nnp) steps.push(seccompStep(inp.seccomp));
  return steps;
}

function seccompStep(s: CompiledSeccomp): Step {
  return { op: Op.SECCOMP, fields: [u64(s.flags), { bytes: s.bpf }] };
}

/** CONSOLE flag: clear ONLCR on the pty. */
const CONSOLE_RAW_NL = 1;

/**
 * The pty: its slave is given to the process's uid (the gid is the one devpts gave it,
 * gid=5 "tty" in the usual /dev/pts options), as runc does so that a process that is not
 * root can use its own terminal. When the runtime itself relays the output, the pty
 * leaves "\n" as written, as runc's own relay has it (an engine's console socket gets
 * the terminal's defaults and sets what it wants).
 */
function consoleStep(proc: Process, relayed: boolean): Step {
  const size = proc.consoleSize;
  return {
    op: Op.CONSOLE,
    fields: [u64(size?.height ?? 0), u64(size?.width ?? 0), u64(proc.user?.uid ?? 0), u64(relayed ? CONSOLE_RAW_NL : 0)],
  };
}

export function execStep(inp: ProcessPlanInput): Step {
  return { op: Op.EXEC, fields: [u64(inp.keepFds), { strv: inp.proc.args ?? [] }, { strv: inp.env }] };
}

// The plain names are applied recursively too: runc changes only "/" for them, which leaves
// the rest of the copied host tree as it was (shared mounts still peers of the host's).
const PROPAGATION: Record<string, number> = {
  shared: MS.SHARED | MS.REC,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE | MS.REC,
  rslave: MS.SLAVE | MS.REC,
  private: MS.PRIVATE | MS.REC,
  rprivate: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE | MS.REC,
  runbindable: MS.UNBINDABLE | MS.REC,
};

export interface CreatePlanInput {
  spec: Spec;
  bundle: string;
  rootfs: string;
  fifo: string;
  noPivot: boolean;
  /** session keyring to join, unless --no-new-keyring */
  keyring?: string;
  preserveFds: number;
  foreground: boolean;
  /** the runtime relays the pty itself (a foreground terminal without a console socket) */
  ptyRelayed?: boolean;
  cgroupMount?: CgroupMountInfo;
  /** the cgroups P joins before it clones the init (see CgroupManager.joinPlan) */
  cgroupJoin?: CgroupJoin;
  seccomp?: CompiledSeccomp;
  warn: (m: string) => void;
  /** see ProcessPlanInput.setgroups */
  setgroups?: boolean;
  /** the runtime itself is rootless: no mknod even without a user namespace of the container's */
  rootless?: boolean;
}

export interface CreatePlan {
  steps: Step[];
  ns: NamespacePlan;
}

/**
 * The exec fifo, made by P first thing, in the host's mount namespace. The init opens it
 * for writing as the container's root, which in a new user namespace is an unprivileged
 * host uid: that uid owns it, so the open needs no capability over a host-owned inode.
 */
function fifoStep(path: string, spec: Spec, ns: NamespacePlan): Step {
  const hostOf = (maps: { containerID: number; hostID: number; size: number }[] | undefined) => {
    const m = maps?.find((x) => x.containerID === 0 && x.size > 0);
    return m ? m.hostID : 0;
  };
  const own = ns.created.has("user");
  const uid = own ? hostOf(spec.linux?.uidMappings) : 0;
  const gid = own ? hostOf(spec.linux?.gidMappings) : 0;
  return { op: Op.FIFO_MAKE, fields: [u64(0o622), u64(uid), u64(gid), str(path)] };
}

export function createPlan(inp: CreatePlanInput): CreatePlan {
  const { spec } = inp;
  // config.md: process is REQUIRED only when start is called. Without one the init
  // stops at the exec fifo, and start refuses before opening it.
  const hasProcess = !!spec.process;
  const proc: Process = spec.process ?? { cwd: "/", args: [] };
  const linux = spec.linux ?? {};
  const ns = namespacePlan(linux.namespaces);
  // Without a mount namespace the container shares the runtime's: its mounts are made
  // there (under the rootfs) and it is entered by chroot. What would change how the host
  // itself sees its mounts is refused.
  const hostMountNs = !ns.created.has("mount") && !ns.joined.has("mount");
  if (hostMountNs) {
    const needs = (what: string) => new RuntimeError(`config.json: ${what} needs a mount namespace (linux.namespaces has no "mount")`);
    if (linux.maskedPaths?.length) throw needs("linux.maskedPaths");
    if (linux.readonlyPaths?.length) throw needs("linux.readonlyPaths");
    if (linux.rootfsPropagation) throw needs("linux.rootfsPropagation");
    if (spec.root?.readonly) throw needs("root.readonly");
  }
  if ((spec.hostname || spec.domainname) && !ns.created.has("uts") && !ns.joined.has("uts"))
    throw new RuntimeError("config.json: hostname/domainname need a new uts namespace");
  // The kernel's limit (__NEW_UTS_LEN); said here so the error does not echo the whole name.
  for (const [k, v] of [["hostname", spec.hostname], ["domainname", spec.domainname]] as const)
    if (v && Buffer.byteLength(v) > 64) throw new RuntimeError(`config.json: ${k} is ${Buffer.byteLength(v)} bytes long, the kernel allows 64`);
  const userns = ns.created.has("user") || ns.joined.has("user");
  const terminal = !!proc.terminal;
  const env = processEnv(proc, inp.rootfs);
  const pinp: ProcessPlanInput = {
    proc,
    env,
    keepFds: 3 + inp.preserveFds,
    seccomp: inp.seccomp,
    warn: inp.warn,
    terminal,
    setsid: true,
    setgroups: inp.setgroups,
  };

  const steps = [fifoStep(inp.fifo, spec, ns), ...parentSteps(proc, ns, timeOffsetsText(spec), inp.foreground ? CloneMode.WAIT : CloneMode.DETACH, 0, inp.cgroupJoin)];
  // The init waits for GO as late as it can, so that its mounts overlap with the
  // runtime's own work after the clone (limits, state, oom_score_adj). Earlier only
  // where something must come first: the id maps of a user namespace, and hooks that
  // run before the container's setup is finished (prestart, createRuntime), which
  // must not see it half done. Mounts in the host's namespace keep the old order too.
  const goEarly = userns || hostMountNs || !!spec.hooks?.prestart?.length || !!spec.hooks?.createRuntime?.length;
  if (goEarly) steps.push({ op: Op.WAIT_GO, fields: [] });
  // Become the namespace's root (created or joined): files made during setup then get
  // a mapped owner instead of failing with EOVERFLOW.
  if (userns) steps.push({ op: Op.SETRESID, fields: [u64(0), u64(0)] });
  if (ns.created.has("cgroup")) steps.push({ op: Op.UNSHARE, fields: [u64(CLONE_FLAG.cgroup!)] });
  // A network namespace the runtime creates gets its loopback up, as runc's "loopback"
  // network does: engines that add no interface (podman --network none, a pod sharing
  // one netns without CNI, ctr run) rely on 127.0.0.1 working. A joined one is left as is.
  if (ns.created.has("network")) steps.push({ op: Op.LINK_UP, fields: [str("lo")] });
  steps.push({ op: Op.SETSID, fields: [] });
  if (inp.keyring) steps.push({ op: Op.KEYRING, fields: [str(inp.keyring)] });
  steps.push({ op: Op.FIFO_OPEN, fields: [str(inp.fifo)] });

  const prop = linux.rootfsPropagation ? PROPAGATION[linux.rootfsPropagation] : 0;
  if (linux.rootfsPropagation && prop === undefined)
    throw new RuntimeError(`config.json: rootfsPropagation "${linux.rootfsPropagation}" is not valid`);
  // Without pivot_root the host's mounts stay under the new root: private would cut the
  // container off from their unmounts, which runc deems unsafe and refuses too.
  if (inp.noPivot && prop && prop & MS.PRIVATE)
    throw new RuntimeError(`config.json: rootfsPropagation "${linux.rootfsPropagation}" is not safe without pivot_root`);
  const rinput = {
    bundle: inp.bundle,
    rootfs: inp.rootfs,
    mounts: spec.mounts ?? [],
    devices: linux.devices ?? [],
    userns: userns || !!inp.rootless,
    terminal,
    cgroup: inp.cgroupMount,
    hostMountNs,
    // A rootless runtime may not enter the container's mount namespace from outside its
    // user namespace, and reaches no source the container's root could not.
    sourceFds: ns.created.has("user") && ns.created.has("mount") && !inp.rootless,
    joinedMountNs: ns.joined.has("mount"),
  };
  // Binds need a bindable "/" during setup: an unbindable root is applied only at the end.
  const rootfs = rootfsSteps(rinput, prop && !(prop & MS.UNBINDABLE) ? prop : 0);
  if (rootfs.sources.length) {
    const clone = steps.findIndex((s) => s.op === Op.CLONE);
    steps.splice(clone, 0, { op: Op.BIND_SOURCES, fields: [{ strv: rootfs.sources }] });
  }
  steps.push(...rootfs.steps);
  // Device nodes wait for GO all the same: mknod is subject to the devices cgroup, whose
  // rules the runtime is rewriting meanwhile (deny all, then the allowlist).
  if (!goEarly) steps.push({ op: Op.WAIT_GO, fields: [] });
  steps.push(...deviceSteps(rinput));
  spec.hooks?.createContainer?.forEach((h, i) => steps.push(hookStep("createContainer", h, i, inp.rootfs)));
  if (inp.noPivot && !hostMountNs && !ns.joined.has("mount"))
    for (const p of hostPseudoMounts(realPath(inp.rootfs))) steps.push({ op: Op.HIDE_HOST, fields: [str(p)] });
  steps.push({ op: Op.PIVOT, fields: [u64(hostMountNs ? PIVOT_CHROOT : inp.noPivot ? 1 : 0)] });
  // Stdio on the host's /dev/null moves to the container's, as runc does unless /dev
  // is the host's: CRIU cannot dump a file on a mount outside the container.
  if (!devIsHostBind(spec.mounts ?? [])) steps.push({ op: Op.DEVNULL_STDIO, fields: [] });
  // runc makes a missing working directory (0755, before the umask is applied), inside
  // the new root so that no symlink of the image can place it elsewhere.
  if (hasProcess) steps.push({ op: Op.MKDIR, fields: [str(proc.cwd)] });

  if (terminal) steps.push(consoleStep(proc, !!inp.ptyRelayed));
  if (spec.hostname) steps.push({ op: Op.HOSTNAME, fields: [str(spec.hostname)] });
  if (spec.domainname) steps.push({ op: Op.DOMAINNAME, fields: [str(spec.domainname)] });
  for (const [k, v] of Object.entries(linux.sysctl ?? {})) {
    // "net.ipv4.ip_forward" or, where a name itself has dots (eth0.100), "net/ipv4/conf/eth0.100/..."
    const rel = k.includes("/") ? k : k.replaceAll(".", "/");
    if (!rel || rel.startsWith("/") || rel.split("/").some((c) => c === "" || c === "." || c === ".."))
      throw new RuntimeError(`sysctl ${JSON.stringify(k)}: invalid name`);
    steps.push({ op: Op.SYSCTL, fields: [str(`/proc/sys/${rel}`), str(v)] });
  }
  for (const p of linux.readonlyPaths ?? []) steps.push({ op: Op.READONLY, fields: [str(p)] });
  for (const p of linux.maskedPaths ?? []) steps.push({ op: Op.MASK, fields: [str(p)] });
  steps.push(...rootfs.finish);
  if (spec.root?.readonly) steps.push({ op: Op.ROOT_RO, fields: [] });
  // The configured propagation, last: the pivot may have made the new root private.
  if (prop) steps.push({ op: Op.MOUNT, fields: [u64(prop), u64(0), str(""), str("/"), str(""), str("")] });
  if (proc.user?.umask !== undefined) steps.push({ op: Op.UMASK, fields: [u64(proc.user.umask)] });
  else steps.push({ op: Op.UMASK, fields: [u64(0o022)] });
  // The process is finished before create returns, as in runc: its confinement, its
  // credentials and the seccomp filter are in place before READY (so create reports
  // their failures, and a NOTIFY listener reaches the agent while create is there to
  // pass it on). What comes after runs under the filter, as the container's user:
  // the exec fifo, then the startContainer hooks, which runc also runs so confined.
  if (hasProcess) {
    steps.push(...lookupSteps(pinp));
    steps.push(...confinementSteps(spec, proc));
    steps.push(...credentialSteps(pinp));
  }
  steps.push({ op: Op.READY, fields: [] });
  steps.push({ op: Op.FIFO_WAIT, fields: [] });
  if (!hasProcess) return { steps, ns };
  spec.hooks?.startContainer?.forEach((h, i) => steps.push(hookStep("startContainer", h, i, "")));
  steps.push(execStep(pinp));
  return { steps, ns };
}

export interface ExecPlanInput {
  proc: Process;
  /** the container's config: personality and such apply to exec'd processes too */
  spec?: Spec;
  /** the container init's namespaces to join, by spec type → /proc/PID/ns path */
  join: Map<string, string>;
  /** a container in the runtime's mount namespace is entered by chroot into its init's root */
  chrootTo?: string;
  preserveFds: number;
  detach: boolean;
  /** the runtime relays the pty itself (no console socket) */
  ptyRelayed?: boolean;
  seccomp?: CompiledSeccomp;
  rootfsForHome: string | null;
  warn: (m: string) => void;
  cgroupJoin?: CgroupJoin;
  /** see ProcessPlanInput.setgroups */
  setgroups?: boolean;
}

/** exec: join the init's namespaces, then only the process half of create. */
export function execPlan(inp: ExecPlanInput): Step[] {
  const ns: NamespacePlan = { created: new Set(), joined: inp.join };
  const env = processEnv(inp.proc, inp.rootfsForHome);
  const terminal = !!inp.proc.terminal;
  const pinp: ProcessPlanInput = {
    proc: inp.proc,
    env,
    keepFds: 3 + inp.preserveFds,
    seccomp: inp.seccomp,
    warn: inp.warn,
    terminal,
    setsid: terminal,
    setgroups: inp.setgroups,
  };
  const steps = parentSteps(inp.proc, ns, undefined, inp.detach ? CloneMode.DETACH : CloneMode.WAIT, 0, inp.cgroupJoin);
  steps.push({ op: Op.WAIT_GO, fields: [] });
  if (terminal) {
    steps.push({ op: Op.SETSID, fields: [] });
    steps.push(consoleStep(inp.proc, !!inp.ptyRelayed));
  }
  if (inp.chrootTo) {
    steps.push({ op: Op.ROOTFS, fields: [str(inp.chrootTo)] });
    steps.push({ op: Op.PIVOT, fields: [u64(PIVOT_CHROOT)] });
  }
  if (inp.proc.user?.umask !== undefined) steps.push({ op: Op.UMASK, fields: [u64(inp.proc.user.umask)] });
  steps.push(...lookupSteps(pinp));
  steps.push(...confinementSteps(inp.spec, inp.proc));
  steps.push(...credentialSteps(pinp));
  steps.push(execStep(pinp));
  return steps;
}
