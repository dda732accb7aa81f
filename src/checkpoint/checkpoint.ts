// checkpoint: CRIU dumps the running container into an image dir; without
// --leave-running or --pre-dump the container is gone afterwards, as with runc.
import { closeSync, constants, openSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "../context";
import { RuntimeError } from "../errors";
import type { Spec } from "../spec/types";
import { load } from "../state/status";
import { fsProbe } from "../state/probe";
import { isAlive } from "../state/proc";
import { destroy } from "../container/destroy";
import { configFile, ensureDir, type CheckpointOptions } from "./options";
import { dumpExternalMounts } from "./mounts";
import { requireCriu, requireFeatures, swrk, type CriuOpts } from "./rpc";
import { fdFlags } from "./sys";
import { debug, debugOn } from "../log";

/** The fd-table names (readlink) of the init's stdio, which restore re-attaches. */
export const DESCRIPTORS = "descriptors.json";

/**
 * `options` is read once the container is known to be running: as with runc, a
 * checkpoint refused for the container's sake makes no image dir.
 */
export async function checkpoint(ctx: Context, id: string, options: () => CheckpointOptions): Promise<void> {
  const criu = ctx.options.criu || "criu";
  if (process.geteuid?.() !== 0) ctx.log.warn("checkpoint is untested with rootless containers");
  const { status } = await load(ctx.store, id, fsProbe);
  if (status === "created" || status === "stopped" || status === "creating")
    throw new RuntimeError(`Container cannot be checkpointed in ${status} state`);
  const o = options();
  const release = ctx.store.lock(id);
  let st = ctx.store.read(id);
  try {
    await dump(ctx, criu, st, o);
  } finally {
    release();
    // As runc: whatever happened, a container CRIU has stopped is destroyed (one still
    // running after a failed dump is left alone).
    if (!o.leaveRunning && !o.preDump && !isAlive(st.pid, st.startTime)) {
      st = ctx.store.read(id);
      await destroy(ctx, st);
    }
  }
}

async function dump(ctx: Context, criu: string, st: ReturnType<Context["store"]["read"]>, o: CheckpointOptions): Promise<void> {
  const version = await requireCriu(criu, 30000);
  const spec = st.config as Spec;
  ensureDir(o.imagePath);
  const imageDir = openSync(o.imagePath, constants.O_RDONLY | constants.O_DIRECTORY);
  let workDir = -1;
  try {
    const opts: CriuOpts = {
      images_dir_fd: imageDir,
      log_level: 4,
      log_file: "dump.log",
      root: st.rootfs,
      manage_cgroups: true,
      notify_scripts: true,
      pid: st.pid,
      shell_job: o.shellJob,
      leave_running: o.leaveRunning,
      tcp_established: o.tcpEstablished,
      ext_unix_sk: o.extUnixSk,
      file_locks: o.fileLocks,
      empty_ns: o.emptyNs,
      orphan_pts_master: true,
      auto_dedup: o.autoDedup,
      lazy_pages: o.lazyPages,
    };
    if (o.workPath) {
      ensureDir(o.workPath);
      workDir = openSync(o.workPath, constants.O_RDONLY | constants.O_DIRECTORY);
      opts.work_dir_fd = workDir;
    }
    const conf = configFile(spec.annotations);
    if (conf) opts.config_file = conf;
    // A namespace joined by path is not the container's to dump: CRIU records it as
    // external, and restore hands it the same namespace back.
    const external: string[] = [];
    for (const n of spec.linux?.namespaces ?? []) {
      if (!n.path) continue;
      const min = n.type === "network" ? 31100 : n.type === "pid" ? 31500 : 0;
      if (!min || version < min) continue;
      const ino = statSync(n.path).ino;
      external.push(`${n.type === "network" ? "net" : "pid"}[${ino}]:${externalKey(n.type)}`);
    }
    if (external.length) opts.external = external;
    // CRIU freezes through the cgroup (v2 from 3.14) rather than ptrace alone.
    if (st.cgroup && (st.cgroup.version === 1 || version >= 31400)) {
      const fcg = st.cgroup.version === 1 ? st.cgroup.paths["freezer"] : Object.values(st.cgroup.paths)[0];
      if (fcg) opts.freeze_cgroup = fcg;
    }
    if (o.pageServer) opts.ps = { address: o.pageServer.address, port: o.pageServer.port };
    if (o.parentPath) {
      opts.parent_img = o.parentPath;
      opts.track_mem = true;
    }
    if (o.manageCgroupsMode) opts.manage_cgroups_mode = o.manageCgroupsMode;
    if (o.preDump) await requireFeatures(criu, opts, { mem_track: true });
    if (o.lazyPages) {
      await requireFeatures(criu, opts, { lazy_pages: true });
      if (o.statusFd !== -1) {
        const fl = fdFlags(o.statusFd);
        if (fl < 0) throw new RuntimeError(`invalid --status-fd argument ${o.statusFd}: bad file descriptor`);
        if ((fl & 3) === 0) throw new RuntimeError(`invalid --status-fd argument ${o.statusFd}: not writable`);
        // CRIU 3.15 says "status-ready" as a notification; older ones write the fd.
        if (version < 31500) opts.status_fd = o.statusFd;
      }
    }
    if (!o.preDump) {
      const ext = dumpExternalMounts(spec, st.rootfs, st.pid);
      if (ext.length) opts.ext_mnt = ext;
      writeFileSync(join(o.imagePath, DESCRIPTORS), JSON.stringify(stdioNames(st.pid)), { mode: 0o600 });
    }
    if (debugOn) debug(`checkpoint: criu ${version}, options ${JSON.stringify(opts)}`);
    let statusFd = o.statusFd;
    await swrk(
      { type: o.preDump ? "PRE_DUMP" : "DUMP", opts },
      {
        criu,
        logPath: join(o.workPath ?? "", "dump.log"),
        notify(script) {
          if (script === "status-ready" && statusFd !== -1) {
            try {
              writeFileSync(statusFd, "\0");
              closeSync(statusFd);
            } catch (e: any) {
              ctx.log.warn(`can't write \\0 to status fd: ${e.message}`);
            }
            statusFd = -1;
          }
        },
      },
    );
  } finally {
    closeSync(imageDir);
    if (workDir >= 0) closeSync(workDir);
  }
}

/** The key CRIU files an external namespace under, the same at dump and restore. */
export function externalKey(type: string): string {
  return type === "network" ? "extRootNetNS" : "extRootPidNS";
}

function stdioNames(pid: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < 3; i++) {
    try {
      out.push(readlinkSync(`/proc/${pid}/fd/${i}`));
    } catch {
      out.push("/dev/null");
    }
  }
  return out;
}
