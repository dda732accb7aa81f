// restore: CRIU rebuilds a checkpointed container from its images. No dx-init here: the
// runtime prepares what the container's processes find on the host (the cgroup, the
// rootfs as a mount point, mount points and external mounts, joined namespaces, stdio
// to re-attach) and CRIU does the rest, telling us at each stage.
import { closeSync, constants, mkdirSync, openSync, readFileSync, realpathSync, rmdirSync } from "node:fs";
import { join, resolve } from "node:path";
import type { Context } from "../context";
import { RuntimeError } from "../errors";
import { debug, debugOn } from "../log";
import type { Spec } from "../spec/types";
import { loadSpec } from "../spec/load";
import { validateId, type StoredState } from "../state/store";
import { procStat } from "../state/proc";
import { hookState } from "../state/status";
import { openCgroup, type CgroupManager } from "../cgroups";
import { runHooks } from "../hooks/run";
import { NS_PROC_NAME } from "../container/plan";
import { creatingState, sendToConsoleSocket, undoCreate, writePidFile } from "../container/create";
import { destroy } from "../container/destroy";
import { forwardSignals } from "../process/forward";
import { configFile, ensureDir, type CheckpointOptions } from "./options";
import { prepareRestoreMounts, restoreExternalMounts } from "./mounts";
import { requireCriu, swrk, type CriuOpts } from "./rpc";
import { DESCRIPTORS, externalKey } from "./checkpoint";
import { becomeSubreaper, bindMount, detach, remountReadonly } from "./sys";

export interface RestoreOptions extends CheckpointOptions {
  id: string;
  bundle?: string;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  noPivot: boolean;
  noSubreaper: boolean;
}

export async function restore(ctx: Context, o: RestoreOptions): Promise<number> {
  const id = validateId(o.id);
  const criu = ctx.options.criu || "criu";
  if (process.geteuid?.() !== 0) ctx.log.warn("checkpoint is untested with rootless containers");
  const bundle = resolve(o.bundle || process.cwd());
  const spec = loadSpec(bundle, { requireProcess: true });
  const terminal = !!spec.process?.terminal;
  if (o.detach && terminal && !o.consoleSocket) throw new RuntimeError("cannot allocate tty if runc will detach without setting console socket");
  if ((!o.detach || !terminal) && o.consoleSocket) throw new RuntimeError("cannot use console socket if runc will not detach or allocate tty");
  if (!o.detach && terminal) throw new RuntimeError("restore of a container with a terminal needs --detach and --console-socket");
  const version = await requireCriu(criu, 30000);
  // Read before anything is made: a dir that holds no checkpoint leaves nothing behind.
  let stdioNames: string[];
  try {
    stdioNames = JSON.parse(readFileSync(join(o.imagePath, DESCRIPTORS), "utf8"));
  } catch (e: any) {
    throw new RuntimeError(`open ${join(o.imagePath, DESCRIPTORS)}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
  }
  for (const n of spec.linux?.namespaces ?? []) if (n.type === "cgroup" && n.path) throw new RuntimeError("Do not know how to handle namespace cgroup");
  const rootfs = resolve(bundle, spec.root!.path);

  ctx.store.claim(id);
  const release = ctx.store.lock(id);
  const st = creatingState(ctx, id, bundle, rootfs, spec);
  let cg: CgroupManager | undefined;
  let initPid = 0;
  const fds: number[] = [];
  const undo: (() => void)[] = [];
  try {
    cg = openCgroup({ cgroupsPath: spec.linux?.cgroupsPath, id, systemd: ctx.options.systemdCgroup });
    st.cgroup = { version: cg.version, paths: cg.paths };
    ctx.store.write(st);
    if (!o.detach && !o.noSubreaper) becomeSubreaper();

    const imageDir = openSync(o.imagePath, constants.O_RDONLY | constants.O_DIRECTORY);
    fds.push(imageDir);
    // CRIU wants the root to be a mount point whose parent is not overmounted.
    const criuRoot = join(ctx.store.dir(id), "criu-root");
    mkdirSync(criuRoot, { mode: 0o755 });
    undo.push(() => {
      try {
        rmdirSync(criuRoot);
      } catch {}
    });
    const root = realpathSync(criuRoot);
    bindMount(rootfs, root);
    undo.push(() => void detach(root));
    // CRIU makes the root it is given the container's root mount as it is, and restores
    // no flags of its own on it: a read-only root is made so here, or it comes back
    // writable. Only this mount is: prepareRestoreMounts makes the mount points through
    // `rootfs`, another mount of the same tree.
    if (spec.root?.readonly) remountReadonly(root);

    const opts: CriuOpts = {
      images_dir_fd: imageDir,
      evasive_devices: true,
      log_level: 4,
      log_file: "restore.log",
      rst_sibling: true,
      root,
      manage_cgroups: true,
      notify_scripts: true,
      shell_job: o.shellJob,
      ext_unix_sk: o.extUnixSk,
      tcp_established: o.tcpEstablished,
      file_locks: o.fileLocks,
      empty_ns: o.emptyNs,
      orphan_pts_master: true,
      auto_dedup: o.autoDedup,
      lazy_pages: o.lazyPages,
    };
    if (o.lsmProfile) {
      if (version < 31600) throw new RuntimeError("--lsm-profile requires at least CRIU 3.16");
      opts.lsm_profile = o.lsmProfile;
    }
    if (o.lsmMountContext) {
      if (version < 31600) throw new RuntimeError("--lsm-mount-context requires at least CRIU 3.16");
      opts.lsm_mount_context = o.lsmMountContext;
    }
    if (o.workPath) {
      ensureDir(o.workPath);
      const wd = openSync(o.workPath, constants.O_RDONLY | constants.O_DIRECTORY);
      fds.push(wd);
      opts.work_dir_fd = wd;
    }
    const conf = configFile(spec.annotations);
    if (conf) opts.config_file = conf;

    // Namespaces joined by path: net and pid were dumped as external and come back as
    // inherited fds (criu's 4, 5, ...: 0-2 are stdio, 3 the socket); the rest are joined.
    const extraFds: number[] = [];
    const inherit: { key: string; fd: number }[] = [];
    const joinNs: { ns: string; ns_file: string }[] = [];
    for (const n of spec.linux?.namespaces ?? []) {
      if (!n.path) continue;
      if (n.type === "network" || n.type === "pid") {
        if (version < (n.type === "network" ? 31100 : 31500)) continue;
        let fd: number;
        try {
          fd = openSync(n.path, constants.O_RDONLY);
        } catch {
          throw new RuntimeError(`Requested network namespace ${n.path} does not exist`);
        }
        fds.push(fd);
        inherit.push({ key: externalKey(n.type), fd: 4 + extraFds.length });
        extraFds.push(fd);
      } else joinNs.push({ ns: NS_PROC_NAME[n.type] ?? n.type, ns_file: n.path });
    }
    if (joinNs.length) opts.join_ns = joinNs;

    undo.push(prepareRestoreMounts(spec, bundle, rootfs));
    const ext = restoreExternalMounts(spec, bundle, rootfs);
    if (ext.length) opts.ext_mnt = ext;
    // The init's stdio pipes at dump time are found again in ours (criu's 0-2).
    stdioNames.forEach((name, i) => {
      if (typeof name === "string" && name.includes("pipe:")) inherit.push({ key: name, fd: i });
    });
    if (inherit.length) opts.inherit_fd = inherit;
    if (debugOn) debug(`restore: criu ${version}, options ${JSON.stringify(opts)}`);

    const resources = spec.linux?.resources;
    const own = cg;
    const resp = await swrk(
      { type: "RESTORE", opts },
      {
        criu,
        stdio: terminal ? ["ignore", "ignore", "ignore"] : ["inherit", "inherit", "inherit"],
        extraFds,
        logPath: join(o.workPath ?? "", "restore.log"),
        // CRIU restores the tree into its own cgroup: the container's, with its limits.
        // Under systemd the scope starts with CRIU in it, as runc's Apply(pid) does.
        async started(pid) {
          await own.create(pid);
          await own.addProcess(pid);
          await own.apply(resources, (m) => ctx.log.warn(m));
          if (own.version === 1) opts.cg_root = cgroupRoots(pid);
        },
        notify(script, pid, fd) {
          if (script === "setup-namespaces") {
            const state = hookState({ ...st, pid }, "created");
            runHooks("prestart", spec.hooks?.prestart, state);
            runHooks("createRuntime", spec.hooks?.createRuntime, state);
          } else if (script === "post-restore") {
            initPid = pid;
            recordRunning(ctx, st, spec, pid);
          } else if (script === "orphan-pts-master" && fd >= 0 && o.consoleSocket) {
            sendToConsoleSocket(o.consoleSocket, fd);
          }
        },
      },
    );
    if (!initPid && resp.restore?.pid) {
      initPid = resp.restore.pid;
      recordRunning(ctx, st, spec, initPid);
    }
    if (!initPid) throw new RuntimeError("criu restored no process");
    for (const u of undo.reverse()) u();
    undo.length = 0;
    if (o.pidFile) writePidFile(o.pidFile, initPid);
  } catch (e) {
    for (const u of undo.reverse()) u();
    release();
    await undoCreate(ctx, id, initPid, undefined, cg);
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
  release();
  if (o.detach) return 0;

  const stop = forwardSignals(initPid);
  const code = await waitExit(initPid);
  stop();
  try {
    await destroy(ctx, ctx.store.read(id));
  } catch (e: any) {
    ctx.log.warn(`delete after restore: ${e.message}`);
  }
  return code;
}

function recordRunning(ctx: Context, st: StoredState, spec: Spec, pid: number): void {
  st.pid = pid;
  st.startTime = procStat(pid)?.startTime ?? 0;
  st.status = "running";
  st.started = true;
  st.created = new Date().toISOString();
  delete st.creator;
  st.namespaces = Object.fromEntries((spec.linux?.namespaces ?? []).map((n) => [n.type, `/proc/${pid}/ns/${NS_PROC_NAME[n.type]}`]));
  ctx.store.write(st);
}

/** v1: where criu sits in each hierarchy, the roots CRIU restores the tree's cgroups under. */
function cgroupRoots(pid: number): { ctrl: string; path: string }[] {
  const out: { ctrl: string; path: string }[] = [];
  for (const line of readFileSync(`/proc/${pid}/cgroup`, "utf8").split("\n")) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m && m[1]) for (const ctrl of m[1].split(",")) out.push({ ctrl, path: m[2]! });
  }
  return out;
}

/** The restored init's exit status; it is our child, which Bun does not wait for. */
async function waitExit(pid: number): Promise<number> {
  const { waitChildNoHang } = await import("./sys");
  for (;;) {
    const r = waitChildNoHang(pid);
    if (r !== null) return r;
    await Bun.sleep(50);
  }
}
