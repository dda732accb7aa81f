// One function per runc command: flags in, container operations out.
import type { Context } from "../context";
import { RuntimeError, withExitCode } from "../errors";
import { oneId, parseFlags, positionals, type FlagSpec } from "./parse";
import { out } from "../output";
// The hot commands engines call for every container load with the entry chunk: each
// chunk loaded later, by import() or require, costs ~0.1-0.3 ms. None of these touch
// node:fs, koffi or the cgroup drivers on their common paths.
import { load, specState } from "../state/status";
import { validateId } from "../state/store";
import { bunProbe } from "../state/probe";
import { start } from "../container/start";
import { kill } from "../container/kill";
import { parseSignal } from "../process/signals";

export interface Command {
  flags: FlagSpec;
  run(ctx: Context, args: import("minimist").ParsedArgs): Promise<number> | number;
}

const CREATE_FLAGS: FlagSpec = {
  string: ["bundle", "pid-file", "console-socket", "preserve-fds", "pidfd-socket"],
  boolean: ["no-pivot", "no-new-keyring", "detach"],
  alias: { b: "bundle", d: "detach" },
};

function preserveFdsOf(a: import("minimist").ParsedArgs): number {
  const pf = a["preserve-fds"];
  const n = pf === undefined || pf === "" ? 0 : Number(pf);
  if (!Number.isInteger(n) || n < 0) throw new RuntimeError(`invalid --preserve-fds: ${pf}`);
  return n;
}

function createOptions(id: string, a: import("minimist").ParsedArgs) {
  const preserveFds = preserveFdsOf(a);
  return {
    id,
    bundle: a.bundle || undefined,
    pidFile: a["pid-file"] || undefined,
    consoleSocket: a["console-socket"] || undefined,
    noPivot: !!a["no-pivot"],
    noNewKeyring: !!a["no-new-keyring"],
    preserveFds,
    foreground: false,
  };
}

const UPDATE_KEYS = [
  "resources", "blkio-weight", "cpu-period", "cpu-quota", "cpu-share", "cpu-rt-period", "cpu-rt-runtime",
  "cpuset-cpus", "cpuset-mems", "kernel-memory", "kernel-memory-tcp", "memory", "memory-reservation",
  "memory-swap", "pids-limit", "l3-cache-schema", "mem-bw-schema", "cpu-idle",
];

export const COMMANDS: Record<string, Command> = {
  create: {
    flags: CREATE_FLAGS,
    async run(ctx, a) {
      const { create } = await import("../container/create");
      const { closeStub } = await import("../native/stub");
      const c = await create(ctx, createOptions(oneId("create", a), a));
      // The init keeps its end of ctl until start: ours goes now, or it would hold us.
      closeStub(c.stub);
      await c.proc.exited;
      return 0;
    },
  },
  start: {
    flags: {},
    async run(ctx, a) {
      await start(ctx, oneId("start", a));
      return 0;
    },
  },
  run: {
    flags: { ...CREATE_FLAGS, boolean: [...CREATE_FLAGS.boolean!, "keep"] },
    async run(ctx, a) {
      const { runContainer } = await import("../container/run");
      const o = createOptions(oneId("run", a), a);
      return runContainer(ctx, { ...o, foreground: !a.detach }, !!a.keep);
    },
  },
  exec: {
    flags: {
      string: ["process", "cwd", "env", "user", "additional-gids", "cap", "pid-file", "console-socket", "preserve-fds", "apparmor", "process-label", "cgroup"],
      boolean: ["tty", "detach", "no-new-privs", "ignore-paused"],
      alias: { p: "process", e: "env", u: "user", g: "additional-gids", c: "cap", t: "tty", d: "detach" },
      stopAtFirstArg: true,
    },
    async run(ctx, a) {
      const pos = positionals(a);
      if (!pos.length) throw new RuntimeError("exec: requires the container id");
      const preserveFds = preserveFdsOf(a);
      // Past its argument checks, runc's exec fails with 255: a status the exec'd
      // process itself rarely returns, so callers can tell the two apart.
      try {
        return await execCommand(ctx, a, pos, preserveFds);
      } catch (e) {
        throw withExitCode(e, 255);
      }
    },
  },
  state: {
    flags: {},
    async run(ctx, a) {
      // Only the state file and /proc, read through Bun.
      const { st, status } = await load(ctx.store, oneId("state", a), bunProbe);
      out(JSON.stringify(specState(st, status), null, 2) + "\n");
      return 0;
    },
  },
  kill: {
    flags: { boolean: ["all"], alias: { a: "all" } },
    async run(ctx, a) {
      const args = positionals(a);
      if (args.length < 1 || args.length > 2) throw new RuntimeError(`kill: requires 1 or 2 arguments (id [signal]), got ${args.length}`);
      await kill(ctx, args[0]!, parseSignal(args[1]), !!a.all);
      return 0;
    },
  },
  delete: {
    flags: { boolean: ["force"], alias: { f: "force" } },
    async run(ctx, a) {
      const ids = positionals(a);
      if (!ids.length) throw new RuntimeError("delete: requires at least 1 argument (the container id)");
      // containerd's shim follows every delete with `delete --force ID` of the same,
      // gone, container: that needs neither node:fs nor the teardown code (~250 page faults).
      if (a.force && ids.length === 1 && (await gone(ctx, ids[0]!))) return 0;
      const { remove } = await import("../container/destroy");
      for (const id of ids) await remove(ctx, id, !!a.force);
      return 0;
    },
  },
  list: {
    flags: { string: ["format"], boolean: ["quiet"], alias: { f: "format", q: "quiet" }, default: { format: "table" } },
    async run(ctx, a) {
      const { listContainers } = await import("./list");
      await listContainers(ctx, a.format, !!a.quiet);
      return 0;
    },
  },
  ps: {
    // Everything after the id goes to ps(1): `ps ID -e -x`.
    flags: { string: ["format"], alias: { f: "format" }, default: { format: "table" }, stopAtFirstArg: true },
    async run(ctx, a) {
      const { ps } = await import("./ps");
      const ids = positionals(a);
      if (!ids.length) throw new RuntimeError("ps: requires the container id");
      return ps(ctx, ids[0]!, a.format, ids.slice(1).concat((a["--"] ?? []).map(String)));
    },
  },
  pause: {
    flags: {},
    async run(ctx, a) {
      const { pause } = await import("../container/resources");
      await pause(ctx, oneId("pause", a));
      return 0;
    },
  },
  resume: {
    flags: {},
    async run(ctx, a) {
      const { resume } = await import("../container/resources");
      await resume(ctx, oneId("resume", a));
      return 0;
    },
  },
  update: {
    flags: {
      string: UPDATE_KEYS,
      alias: { r: "resources" },
    },
    async run(ctx, a) {
      const { update } = await import("../container/resources");
      const flags: Record<string, string | undefined> = {};
      for (const k of UPDATE_KEYS) if (a[k] !== undefined) flags[k] = String(Array.isArray(a[k]) ? a[k].at(-1) : a[k]);
      await update(ctx, oneId("update", a), flags);
      return 0;
    },
  },
  events: {
    flags: { string: ["interval"], boolean: ["stats"] },
    async run(ctx, a) {
      const { events, parseInterval } = await import("../container/resources");
      await events(ctx, oneId("events", a), !!a.stats, parseInterval(a.interval));
      return 0;
    },
  },
  checkpoint: {
    flags: {
      string: ["image-path", "work-path", "parent-path", "status-fd", "page-server", "manage-cgroups-mode", "empty-ns"],
      boolean: ["leave-running", "tcp-established", "ext-unix-sk", "shell-job", "lazy-pages", "file-locks", "pre-dump", "auto-dedup"],
    },
    async run(ctx, a) {
      // CRIU's RPC (protobufjs and the schema) loads only here and in restore.
      const { checkpointCommand } = await import("./checkpoint");
      return checkpointCommand(ctx, a);
    },
  },
  restore: {
    flags: {
      string: ["image-path", "work-path", "manage-cgroups-mode", "empty-ns", "bundle", "pid-file", "console-socket", "lsm-profile", "lsm-mount-context"],
      boolean: ["tcp-established", "ext-unix-sk", "shell-job", "file-locks", "auto-dedup", "lazy-pages", "detach", "no-pivot", "no-subreaper"],
      alias: { b: "bundle", d: "detach" },
    },
    async run(ctx, a) {
      const { restoreCommand } = await import("./checkpoint");
      return restoreCommand(ctx, a);
    },
  },
  spec: {
    flags: { string: ["bundle"], boolean: ["rootless"], alias: { b: "bundle" } },
    async run(_ctx, a) {
      const { defaultSpec, renderSpec } = await import("../spec/default");
      const { existsSync, writeFileSync } = await import("node:fs");
      const { join, resolve } = await import("node:path");
      const dir = resolve(a.bundle || ".");
      const file = join(dir, "config.json");
      if (existsSync(file)) throw new RuntimeError("File config.json exists. Remove it first");
      const rootless = a.rootless ? { uid: process.geteuid!(), gid: process.getegid!() } : undefined;
      writeFileSync(file, renderSpec(defaultSpec({ rootless })), { mode: 0o666 });
      return 0;
    },
  },
  features: {
    flags: {},
    async run() {
      const { runtimeFeatures } = await import("./features");
      out(JSON.stringify(runtimeFeatures(), null, 2) + "\n");
      return 0;
    },
  },
};

async function execCommand(ctx: Context, a: import("minimist").ParsedArgs, pos: string[], preserveFds: number): Promise<number> {
  const { exec } = await import("../container/exec");
  const list = (v: unknown): string[] => (v === undefined ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);
  const gids = list(a["additional-gids"]).flatMap((g) => g.split(",")).filter(Boolean).map(Number);
  if (gids.some((g) => !Number.isInteger(g) || g < 0)) throw new RuntimeError("exec: --additional-gids must be numbers");
  return exec(ctx, {
    id: pos[0]!,
    processFile: a.process || undefined,
    args: [...pos.slice(1), ...list(a["--"])],
    cwd: a.cwd || undefined,
    env: list(a.env),
    tty: !!a.tty,
    user: a.user || undefined,
    additionalGids: gids,
    caps: list(a.cap),
    noNewPrivs: !!a["no-new-privs"],
    detach: !!a.detach,
    pidFile: a["pid-file"] || undefined,
    consoleSocket: a["console-socket"] || undefined,
    preserveFds,
    ignorePaused: !!a["ignore-paused"],
    apparmor: a.apparmor || undefined,
    processLabel: a["process-label"] || undefined,
    cgroups: list(a.cgroup),
  });
}

export function commandHelp(name: string): string {
  return (require("./help") as typeof import("./help")).HELP[name] ?? `dx-runtime ${name}\n`;
}

/** True when the container's state dir does not exist (for a valid id only: bad ids get remove's error). */
async function gone(ctx: Context, id: string): Promise<boolean> {
  try {
    validateId(id);
  } catch {
    return false;
  }
  return !ctx.store.exists(id);
}
