// create: config.json → validated spec → plan → dx-init, and the runtime's side of the
// conversation (maps, cgroup, hooks, pty), leaving a container blocked on its exec fifo.
import { debug, debugOn } from "../log";
import { closeSync, constants, existsSync, openSync, writeFileSync, renameSync, unlinkSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import type { Spec } from "../spec/types";
import { loadSpec } from "../spec/load";
import { RuntimeError } from "../errors";
import type { Context } from "../context";
import { OCI_VERSION, validateId, type StoredState } from "../state/store";
import { procStat } from "../state/proc";
import { hookState } from "../state/status";
import { createPlan, NS_PROC_NAME } from "./plan";
import { encodePlan, Msg } from "../native/protocol";
import { closeStub, launchStub, pidOf, sendGo, stubError, StubError, type Message, type Stub } from "../native/stub";
import { killAndWait } from "../process/reap";
import { runHooks, runHooksWarn } from "../hooks/run";
import { readFileSync } from "node:fs";
import { openCgroup, type CgroupManager } from "../cgroups";
import type { CgroupMountInfo } from "../mounts/plan";
import { v1HierarchyViews } from "../cgroups/mounts";
import { releaseHostMounts } from "../mounts/release";
import { isRootless } from "../rootless/detect";
import { applyRootless, createRootlessCgroup, ownCgroupPaths } from "../rootless/cgroup";
import { setgroupsAllowed, writeIdMapsRootless } from "../rootless/idmap";
import { userName } from "../rootless/owner";
import { checkRlimits, oomScoreAdjError } from "../rootless/checks";

export interface CreateOptions {
  id: string;
  bundle?: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noNewKeyring: boolean;
  preserveFds: number;
  /** `run` in the foreground: the stub stays to reap the init and mirrors its exit status */
  foreground: boolean;
}

export interface Created {
  st: StoredState;
  stub: Stub;
  /** the pty master when a terminal was asked for without a console socket (foreground run) */
  ptyMaster: number;
  proc: Subprocess;
}


export async function create(ctx: Context, o: CreateOptions): Promise<Created> {
  const id = validateId(o.id);
  const bundle = resolve(o.bundle || process.cwd());
  const spec = loadSpec(bundle, { requireProcess: false });
  const rootfs = resolve(bundle, spec.root!.path);
  const proc = spec.process ?? { cwd: "/" };
  if (proc.terminal && !o.consoleSocket && !o.foreground)
    throw new RuntimeError("cannot allocate a tty when detaching without --console-socket");
  if (!proc.terminal && o.consoleSocket)
    throw new RuntimeError("--console-socket given but process.terminal is false");
  if (o.preserveFds < 0 || !Number.isInteger(o.preserveFds)) throw new RuntimeError("--preserve-fds must be a non-negative integer");

  const { store } = ctx;
  const rootless = isRootless(ctx.options.rootless);
  if (rootless) checkRlimits(proc.rlimits);
  store.claim(id);
  // The lock is a flock on the state dir taken by the stub through this open file: it
  // is ours until this fd closes, and costs no FFI here.
  let lockFd: number;
  try {
    lockFd = openSync(store.dir(id), constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (e: any) {
    store.remove(id);
    throw new RuntimeError(`open state dir ${store.dir(id)}: ${e.code ?? e.message}`);
  }
  let locked = true;
  const release = () => {
    if (locked) closeSync(lockFd);
    locked = false;
  };
  const st = creatingState(ctx, id, bundle, rootfs, spec);
  let cg: CgroupManager | undefined;
  let shared = false;
  let stub: Stub | undefined;
  let initPid = 0;
  let ptyMaster = -1;
  let hooksBegan = false;
  try {
    // The stub starts first: it takes the lock, and makes its sealed copy, while the
    // cgroup is worked out here. A terminal or a seccomp listener comes back as an fd.
    stub = launchStub({ stdio: ["inherit", "inherit", "inherit"], preserveFds: o.preserveFds, lockFd, fds: passesFds(spec, proc) });
    const own = openCgroup({ cgroupsPath: spec.linux?.cgroupsPath, id, systemd: ctx.options.systemdCgroup, pid: stub.proc.pid });
    if (debugOn) debug(`create: cgroup v${own.version} paths ${JSON.stringify(own.paths)}`);
    // A cgroup that already holds processes is shared, as runc 1.1 allows with a warning.
    // It is recorded so that undo and delete kill only what is the container's own.
    const others = existingPids(own);
    if (others.length) {
      ctx.log.warn(`container's cgroup is not empty: ${others.length} process(es) found`);
      ctx.log.warn("DEPRECATED: running container in a non-empty cgroup won't be supported in runc 1.2; https://github.com/opencontainers/runc/issues/3132");
    }
    // The stub would freeze on joining it, and the create would wait forever.
    if (await own.frozen()) throw new RuntimeError("container's cgroup unexpectedly frozen");
    cg = own;
    shared = others.length > 0;
    const lockMsg = await stub.ch.recv();
    if (!lockMsg) throw new RuntimeError("container init exited before it could start");
    if (lockMsg.type === Msg.ERROR) throw stubError(lockMsg);
    if (lockMsg.type !== Msg.LOCKED) throw new RuntimeError(`unexpected message ${lockMsg.type} from container init`);
    // The first state, with the cgroup paths recorded before any mkdir: a create killed
    // from here on leaves delete the creator to kill and the paths to remove. (Killed
    // before it, the state dir alone is no container, and delete removes it.)
    st.cgroup = { version: cg.version, paths: cg.paths };
    if (shared) st.cgroup.shared = true;
    store.write(st);
    if (rootless && !own.unit) {
      cg = await createRootlessCgroup(own, spec.linux?.resources, (m) => ctx.log.debug(m));
      if (!cg) {
        delete st.cgroup;
        store.write(st);
      }
    } else await own.create();
    // The stub joins the cgroups itself before it clones the init (no grace period; see
    // CGROUP_JOIN in native/PROTOCOL.md). In the foreground it stays to reap the init, so
    // it goes back to the runtime's own cgroups once the init exists.
    const cgroupJoin = cg?.joinPlan(o.foreground);

    const ns = spec.linux?.namespaces ?? [];
    const cgroupMount: CgroupMountInfo = {
      version: own.version,
      ...(cg ? mountableCgroups(cg) : mountableCgroups({ version: own.version, paths: ownCgroupPaths(own.version) })),
      newNamespace: ns.some((n) => n.type === "cgroup" && !n.path),
    };
    const seccomp = spec.linux?.seccomp ? compileSeccompLazy(spec, ctx) : undefined;
    const plan = createPlan({
      spec,
      bundle,
      rootfs,
      fifo: store.fifo(id),
      noPivot: o.noPivot,
      keyring: o.noNewKeyring ? undefined : `_ses.${id}`,
      preserveFds: o.preserveFds,
      foreground: o.foreground,
      ptyRelayed: o.foreground && !o.consoleSocket,
      cgroupMount,
      cgroupJoin,
      seccomp,
      warn: (m) => ctx.log.warn(m),
      setgroups: setgroupsAllowed(),
      rootless,
    });
    if (debugOn) debug(`create: sending dx-init a plan of ${plan.steps.length} steps`);
    await stub.ch.send(Msg.PLAN, encodePlan(plan.steps));

    const first = await stub.ch.recv();
    if (!first) throw new RuntimeError("container init exited before reporting its pid");
    if (first.type === Msg.ERROR) throw stubError(first);
    if (first.type !== Msg.PID) throw new RuntimeError(`unexpected message ${first.type} from container init`);
    initPid = pidOf(first);
    if (debugOn) debug(`create: the container's init is pid ${initPid}`);
    // Limits once the init exists: before the clone, a joined P and its child would both
    // count against pids.max. The init waits for GO, so nothing runs unlimited.
    if (rootless && !cg?.unit) {
      if (cg) applyRootless(cg, spec.linux?.resources, (m) => ctx.log.warn(m));
    } else {
      try {
        await cg!.apply(spec.linux?.resources, (m) => ctx.log.warn(m));
      } catch (e) {
        // An init that failed in its setup emptied its systemd scope, which systemd then
        // removed: the init's own report says why, not the missing unit.
        const died = await initFailure(stub, initPid);
        throw died ?? e;
      }
    }
    st.pid = initPid;
    st.startTime = procStat(initPid)?.startTime ?? 0;
    st.namespaces = Object.fromEntries(ns.map((n) => [n.type, `/proc/${initPid}/ns/${NS_PROC_NAME[n.type]}`]));
    store.write(st);

    if (plan.ns.created.has("user")) writeIdMaps(initPid, spec, rootless);
    if (proc.oomScoreAdj !== undefined) {
      try {
        writeFileSync(`/proc/${initPid}/oom_score_adj`, String(proc.oomScoreAdj));
      } catch (e: any) {
        // Going below our own value needs CAP_SYS_RESOURCE; engines show only this line.
        throw new RuntimeError(rootless ? oomScoreAdjError(proc.oomScoreAdj, initPid, e?.code ?? String(e)) : `process.oomScoreAdj ${proc.oomScoreAdj}: write /proc/${initPid}/oom_score_adj: ${e?.code ?? e}`);
      }
    }

    // Hooks run at lifecycle steps 3-5, after step 2, the create proper: runtime.md calls
    // that "created" ("creating" is step 2 itself).
    const state = hookState(st, "created");
    hooksBegan = true;
    // From the bundle, as runc runs them: it changes into the bundle before it creates.
    runHooks("prestart", spec.hooks?.prestart, state, bundle);
    runHooks("createRuntime", spec.hooks?.createRuntime, state, bundle);
    // Hooks run inside the container see the pid as the container does (runtime.md).
    // The init keeps GO's state only for them.
    const inside = !!spec.hooks?.createContainer?.length || !!spec.hooks?.startContainer?.length;
    try {
      await sendGo(stub, inside ? hookState({ ...st, pid: pidInsideOwnNamespace(initPid) }, "created") : "");
    } catch (e: any) {
      // The init may already have failed in the setup it does before GO, and gone: its
      // report is still queued on ctl, and says more than the broken pipe.
      if (e?.code !== "EPIPE" && e?.code !== "ECONNRESET") throw e;
      let m: Message | null = null;
      try {
        m = await stub.ch.recv();
      } catch {}
      if (m?.type === Msg.ERROR) throw stubError(m);
      throw e;
    }

    for (;;) {
      const m = await stub.ch.recv();
      if (!m) throw new RuntimeError("container init exited unexpectedly during setup");
      if (m.type === Msg.ERROR) throw stubError(m);
      if (m.type === Msg.PTY) {
        if (o.consoleSocket) {
          sendToConsoleSocket(o.consoleSocket, m.fd);
          closeSync(m.fd);
        } else ptyMaster = m.fd;
        continue;
      }
      if (m.type === Msg.SECCOMP_FD) {
        sendSeccompListener(spec, m.fd, state);
        closeSync(m.fd);
        continue;
      }
      if (m.type === Msg.READY) break;
      throw new RuntimeError(`unexpected message ${m.type} from container init`);
    }

    st.status = "created";
    delete st.creator;
    store.write(st);
    if (debugOn) debug(`create: ${id} created, waiting on ${store.fifo(id)}`);
    if (o.pidFile) writePidFile(o.pidFile, initPid);
    release();
    return { st, stub, ptyMaster, proc: stub.proc };
  } catch (e) {
    if (ptyMaster >= 0) closeSync(ptyMaster);
    if (debugOn) debug(`create: failed, undoing: ${(e as Error)?.message ?? e}`);
    await undoCreate(ctx, id, initPid, stub, cg, shared);
    releaseHostMounts(rootfs, spec, (m) => ctx.log.warn(m));
    release();
    // A failed hook stops the container and the lifecycle goes on at destroy + poststop.
    if (hooksBegan) runHooksWarn("poststop", spec.hooks?.poststop, hookState(st, "stopped"), (m) => ctx.log.warn(m), bundle);
    if (e instanceof StubError) throw new RuntimeError(e.message);
    throw e;
  }
}

/** A container's first state: "creating", with this process as its creator. */
export function creatingState(ctx: Context, id: string, bundle: string, rootfs: string, spec: Spec): StoredState {
  return {
    ociVersion: OCI_VERSION,
    id,
    status: "creating",
    pid: 0,
    startTime: 0,
    bundle,
    annotations: spec.annotations,
    creator: { pid: process.pid, startTime: procStat(process.pid)?.startTime ?? 0 },
    created: new Date().toISOString(),
    rootfs,
    owner: userName(),
    config: spec,
    systemdCgroup: ctx.options.systemdCgroup,
  };
}

/** Whether the stub will hand fds back: a pty master, a seccomp listener. */
export function passesFds(spec: Spec, proc: { terminal?: boolean }): boolean {
  return !!proc.terminal || !!spec.linux?.seccomp?.syscalls?.some((sc) => sc.action === "SCMP_ACT_NOTIFY");
}

/**
 * The init's error report once it has died: with no process left holding the other end
 * of ctl, the read cannot block. Undefined while it lives.
 */
async function initFailure(stub: Stub, initPid: number): Promise<Error | undefined> {
  const st = procStat(initPid);
  if (st && st.state !== "Z" && st.state !== "X") return undefined;
  try {
    const m = await stub.ch.recv();
    return m?.type === Msg.ERROR ? stubError(m) : undefined;
  } catch {
    return undefined;
  }
}

/** Processes already in the cgroup (none when it does not exist yet). */
function existingPids(cg: CgroupManager): number[] {
  try {
    return cg.pids();
  } catch {
    return [];
  }
}

/** v2: the one dir; v1: one dir per hierarchy, named as the container should see it. */
function mountableCgroups(cg: Pick<CgroupManager, "version" | "paths">): Pick<CgroupMountInfo, "paths" | "hierarchies"> {
  if (cg.version === 2) return { paths: { "": Object.values(cg.paths)[0]! } };
  return { paths: {}, hierarchies: Object.fromEntries(v1HierarchyViews(cg.paths)) };
}

export function compileSeccompLazy(spec: Spec, ctx: Context) {
  // libseccomp is loaded only for configs that ask for a filter.
  const { compileSeccompCached } = require("../seccomp") as typeof import("../seccomp");
  return compileSeccompCached(spec.linux!.seccomp!, (m) => ctx.log.warn(m));
}

function writeIdMaps(pid: number, spec: Spec, rootless: boolean): void {
  const fmt = (maps: { containerID: number; hostID: number; size: number }[] | undefined) =>
    (maps ?? []).map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join("\n") + "\n";
  const uid = spec.linux?.uidMappings;
  const gid = spec.linux?.gidMappings;
  if (!uid?.length || !gid?.length) throw new RuntimeError("config.json: a new user namespace needs uidMappings and gidMappings");
  if (rootless && process.geteuid?.() !== 0) return writeIdMapsRootless(pid, uid, gid);
  try {
    writeFileSync(`/proc/${pid}/uid_map`, fmt(uid));
    writeFileSync(`/proc/${pid}/gid_map`, fmt(gid));
  } catch (e: any) {
    throw new RuntimeError(`write id mappings of ${pid}: ${e.code === "EINVAL" ? "invalid argument (overlapping or out-of-range mappings)" : e.message}`);
  }
}

/** The pty master to a console socket, as runc sends it. */
export function sendToConsoleSocket(path: string, fd: number): void {
  const { close, connectUnix, sendWithFd } = require("../native/libc") as typeof import("../native/libc");
  const sock = connectUnix(path);
  try {
    sendWithFd(sock, new TextEncoder().encode("/dev/ptmx"), fd);
  } finally {
    close(sock);
  }
}

/** NOTIFY: the listener goes to the agent at listenerPath with the container state, as the spec says. */
export function sendSeccompListener(spec: Spec, fd: number, stateJson: string): void {
  const path = spec.linux?.seccomp?.listenerPath;
  if (!path) return;
  const st = JSON.parse(stateJson);
  const msg = JSON.stringify({
    ociVersion: st.ociVersion,
    fds: ["seccompFd"],
    pid: st.pid,
    metadata: spec.linux?.seccomp?.listenerMetadata ?? "",
    state: st,
  });
  const { close, connectUnix, sendWithFd } = require("../native/libc") as typeof import("../native/libc");
  let sock: number;
  try {
    sock = connectUnix(path);
  } catch (e: any) {
    // runc's words, which engines and their users search for
    throw new RuntimeError(`failed to connect with seccomp agent specified in the seccomp profile: ${e.message}`);
  }
  try {
    sendWithFd(sock, new TextEncoder().encode(msg), fd);
  } catch (e: any) {
    throw new RuntimeError(`cannot send seccomp fd to ${path}: ${e.message}`);
  } finally {
    close(sock);
  }
}

export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${process.pid}.pid.tmp`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

/** Kills what a failed create started and removes every trace of it. */
export async function undoCreate(ctx: Context, id: string, initPid: number, stub: Stub | undefined, cg: CgroupManager | undefined, shared = false): Promise<void> {
  if (initPid) killAndWait(initPid);
  if (stub) {
    try {
      stub.proc.kill(9);
    } catch {}
    closeStub(stub);
  }
  if (cg) {
    try {
      // In a shared cgroup the others' processes stay, and so does the cgroup.
      if (!shared) {
        for (const p of cg.pids()) killAndWait(p);
        await cg.destroy();
      }
    } catch (e: any) {
      ctx.log.warn(`remove cgroup: ${e.message}`);
    }
  }
  try {
    if (existsSync(ctx.store.fifo(id))) unlinkSync(ctx.store.fifo(id));
  } catch {}
  ctx.store.remove(id);
}


/** The last NSpid entry: the pid in the innermost pid namespace the process is in. */
export function pidInsideOwnNamespace(pid: number): number {
  try {
    const m = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, "latin1"));
    const all = m ? m[1]!.trim().split(/\s+/) : [];
    return Number(all[all.length - 1] ?? pid);
  } catch {
    return pid;
  }
}
