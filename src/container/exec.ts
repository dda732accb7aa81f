// exec: a new process in a running container. The stub joins the container's cgroups and
// every namespace of its init (user first), and the process gets the same confinement as
// the init unless the flags say otherwise.
import { closeSync, readFileSync } from "node:fs";
import type { Process, Spec } from "../spec/types";
import { RuntimeError } from "../errors";
import { processProblem } from "../spec/load";
import type { Context } from "../context";
import { load } from "../state/status";
import { fsProbe } from "../state/probe";
import { execPlan } from "./plan";
import { encodePlan, Msg } from "../native/protocol";
import { closeStub, launchStub, pidOf, sendGo, stubError } from "../native/stub";
import { addToSubCgroups, initCgroupFallback, parseSubCgroups, primeAttach, subCgroupPaths } from "../cgroups";
import { cgroupOf } from "./cgroup";
import { setgroupsAllowed } from "../rootless/idmap";
import { isRootless } from "../rootless/detect";
import { checkRlimits } from "../rootless/checks";
import { procStat } from "../state/proc";
import { hookState } from "../state/status";
import { compileSeccompLazy, passesFds, sendSeccompListener, sendToConsoleSocket, writePidFile } from "./create";
import { relayPty } from "./tty";
import { forwardSignals } from "../process/forward";

export interface ExecOptions {
  id: string;
  processFile?: string;
  args: string[];
  cwd?: string;
  env: string[];
  tty: boolean;
  user?: string;
  additionalGids: number[];
  caps: string[];
  noNewPrivs: boolean;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  ignorePaused: boolean;
  apparmor?: string;
  processLabel?: string;
  /** --cgroup: sub-cgroups of the container's to run the process in */
  cgroups?: string[];
}

/** The process to run: a --process file as given, or the container's own process changed by the flags. */
export function execProcess(base: Process | undefined, o: ExecOptions): Process {
  if (o.processFile) {
    let text: string;
    try {
      text = o.processFile === "-" ? readFileSync(0, "utf8") : readFileSync(o.processFile, "utf8");
    } catch (e: any) {
      throw new RuntimeError(`read process file ${o.processFile}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
    }
    let p: Process;
    try {
      p = JSON.parse(text);
    } catch (e: any) {
      throw new RuntimeError(`process file ${o.processFile}: invalid JSON: ${e.message}`);
    }
    const problem = processProblem(p);
    if (problem !== null) throw new RuntimeError(`process file ${o.processFile}: ${problem}`);
    if (!p || typeof p !== "object" || !Array.isArray(p.args) || !p.args.length)
      throw new RuntimeError(`process file ${o.processFile}: args must be a non-empty array`);
    if (typeof p.cwd !== "string" || !p.cwd.startsWith("/")) throw new RuntimeError(`process file ${o.processFile}: cwd must be an absolute path`);
    return p;
  }
  if (!o.args.length) throw new RuntimeError("exec: the command to run is missing (exec ID -- CMD [ARGS...] or --process FILE)");
  const p: Process = structuredClone(base ?? { cwd: "/" }) as Process;
  p.args = o.args;
  p.terminal = o.tty;
  if (o.cwd) p.cwd = o.cwd;
  if (o.env.length) {
    const env = new Map<string, string>();
    for (const e of [...(p.env ?? []), ...o.env]) env.set(e.split("=")[0]!, e);
    p.env = [...env.values()];
  }
  if (o.user) {
    const [u, g] = o.user.split(":");
    const uid = Number(u);
    if (!Number.isInteger(uid) || uid < 0) throw new RuntimeError(`exec: --user must be uid[:gid], got ${o.user}`);
    const gid = g === undefined ? 0 : Number(g);
    if (!Number.isInteger(gid) || gid < 0) throw new RuntimeError(`exec: --user must be uid[:gid], got ${o.user}`);
    p.user = { ...(p.user ?? {}), uid, gid };
  }
  if (o.additionalGids.length) p.user = { ...(p.user ?? { uid: 0, gid: 0 }), additionalGids: o.additionalGids };
  if (o.caps.length && p.capabilities) {
    for (const set of ["bounding", "effective", "permitted", "ambient", "inheritable"] as const) {
      if (set === "inheritable" && !p.capabilities.inheritable) continue;
      const have = new Set(p.capabilities[set] ?? []);
      for (const c of o.caps) have.add(c.toUpperCase().startsWith("CAP_") ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
      p.capabilities[set] = [...have];
    }
  }
  if (o.noNewPrivs) p.noNewPrivileges = true;
  if (o.apparmor) p.apparmorProfile = o.apparmor;
  if (o.processLabel) p.selinuxLabel = o.processLabel;
  return p;
}

export async function exec(ctx: Context, o: ExecOptions): Promise<number> {
  const { st, status } = await load(ctx.store, o.id, fsProbe);
  if (status === "stopped") throw new RuntimeError(`cannot exec in a stopped container`);
  if (status === "paused" && !o.ignorePaused) throw new RuntimeError(`cannot exec in a paused container (use --ignore-paused to override)`);
  if (status === "creating") throw new RuntimeError(`cannot exec in a container that is still being created`);
  const spec = st.config as Spec;
  const proc = execProcess(spec.process, o);
  if (proc.terminal && !o.consoleSocket && o.detach) throw new RuntimeError("cannot allocate a tty when detaching without --console-socket");
  if (!proc.terminal && o.consoleSocket) throw new RuntimeError("--console-socket given but the process has no terminal");
  if (proc.rlimits?.length && isRootless(ctx.options.rootless)) checkRlimits(proc.rlimits);

  // Join by the init's /proc entries, and only after checking the pid is still the init.
  const join = new Map<string, string>();
  for (const [type, path] of Object.entries(st.namespaces ?? {})) join.set(type, path);
  if (procStat(st.pid)?.startTime !== st.startTime) throw new RuntimeError(`container ${o.id} is not running`);

  // The stub joins the cgroups itself, as at create (CGROUP_JOIN). Not into a paused
  // container's, where the joining stub itself would freeze; not from inside a user
  // namespace, whose credentials may not cover the host's cgroup files; and not from
  // inside a cgroup namespace, where clone3 cannot reach a cgroup outside its root
  // (ENOENT). There the process is moved in from here.
  const cg = cgroupOf(st);
  // Sub-cgroups (--cgroup, or on v2 the init's when the container's own takes no
  // process) are joined from here, after the clone, as runc joins them.
  const subs = parseSubCgroups(o.cgroups ?? []);
  if (subs && !cg) throw new RuntimeError(`exec --cgroup: container ${o.id} has no cgroup`);
  const subPaths = subs && cg ? subCgroupPaths(cg.paths, subs) : cg?.version === 2 ? initCgroupFallback(cg.paths, st.pid) : undefined;
  const canJoin = !subPaths && status !== "paused" && !join.has("user") && !join.has("cgroup");
  const cgroupJoin = cg && canJoin ? cg.joinPlan(!o.detach) : undefined;
  if (cg && !cgroupJoin) primeAttach();
  const seccomp = spec.linux?.seccomp ? compileSeccompLazy(spec, ctx) : undefined;
  const steps = execPlan({
    cgroupJoin,
    proc,
    spec,
    chrootTo: join.has("mount") ? undefined : `/proc/${st.pid}/root`,
    join,
    preserveFds: o.preserveFds,
    detach: o.detach,
    ptyRelayed: !o.consoleSocket,
    seccomp,
    rootfsForHome: st.rootfs || null,
    warn: (m) => ctx.log.warn(m),
    setgroups: setgroupsAllowed(),
  });
  const stub = launchStub({ stdio: ["inherit", "inherit", "inherit"], preserveFds: o.preserveFds, fds: passesFds(spec, proc) });
  let pid = 0;
  let ptyMaster = -1;
  try {
    await stub.ch.send(Msg.PLAN, encodePlan(steps));
    const first = await stub.ch.recv();
    if (!first) throw new RuntimeError("exec: the process exited before reporting its pid");
    if (first.type === Msg.ERROR) throw new RuntimeError(`exec: ${stubError(first).message}`);
    pid = pidOf(first);
    if (cg && subPaths) addToSubCgroups(subPaths, pid, cg.version);
    else if (cg && !cgroupJoin) await cg.addProcess(pid);
    await sendGo(stub, hookState(st, "running"));
    for (;;) {
      const m = await stub.ch.recv();
      if (!m) break; // closed on execve: the process runs
      if (m.type === Msg.ERROR) throw new RuntimeError(`exec failed: ${stubError(m).message}`);
      if (m.type === Msg.PTY) {
        if (o.consoleSocket) {
          sendToConsoleSocket(o.consoleSocket, m.fd);
          closeSync(m.fd);
        } else ptyMaster = m.fd;
        continue;
      }
      if (m.type === Msg.SECCOMP_FD) {
        sendSeccompListener(spec, m.fd, hookState(st, "running"));
        closeSync(m.fd);
      }
    }
  } catch (e) {
    if (pid) {
      try {
        process.kill(pid, 9);
      } catch {}
    }
    try {
      stub.proc.kill(9);
    } catch {}
    closeStub(stub);
    if (ptyMaster >= 0) closeSync(ptyMaster);
    throw e;
  }
  if (o.pidFile) writePidFile(o.pidFile, pid);
  if (o.detach) {
    await stub.proc.exited;
    closeStub(stub);
    return 0;
  }
  const stopForwarding = forwardSignals(pid);
  const pty = ptyMaster >= 0 ? relayPty(ptyMaster) : undefined;
  const code = await stub.proc.exited;
  stopForwarding();
  await pty?.finish();
  closeStub(stub);
  return code ?? 1;
}
