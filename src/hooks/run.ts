// Hooks the runtime itself runs (createRuntime, prestart, poststart, poststop): in the
// runtime's namespaces, with the container's state on stdin.
import { debug, debugOn } from "../log";
import type { Hook } from "../spec/types";
import { RuntimeError } from "../errors";

export type HookPoint = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

/** Go's names for the signals a hook dies of, which runc prints ("signal: killed"). */
const SIGNAL_NAMES: Record<string, string> = {
  SIGHUP: "hangup", SIGINT: "interrupt", SIGQUIT: "quit", SIGILL: "illegal instruction", SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted", SIGBUS: "bus error", SIGFPE: "floating point exception", SIGKILL: "killed", SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault", SIGUSR2: "user defined signal 2", SIGPIPE: "broken pipe", SIGALRM: "alarm clock",
  SIGTERM: "terminated", SIGXCPU: "CPU time limit exceeded", SIGXFSZ: "file size limit exceeded", SIGSYS: "bad system call",
};

/**
 * `cwd`: where the hook runs. runc runs the hooks of create and run from the bundle (it
 * changes into it first), and those of start and delete from the caller's directory.
 */
export function runHook(point: HookPoint, h: Hook, stateJson: string, index = 0, cwd?: string): void {
  const args = h.args && h.args.length ? h.args : [h.path];
  if (debugOn) debug(`${point} hook: running ${h.path} ${JSON.stringify(args)}${h.timeout ? `, timeout ${h.timeout}s` : ""}`);
  const label = `error running hook #${index} (${point}, ${h.path})`;
  let r;
  try {
    r = Bun.spawnSync({
      cmd: [h.path, ...args.slice(1)],
      argv0: args[0],
      ...(cwd ? { cwd } : {}),
      env: Object.fromEntries((h.env ?? []).map((e) => {
        const i = e.indexOf("=");
        return i < 0 ? [e, ""] : [e.slice(0, i), e.slice(i + 1)];
      })),
      stdin: new TextEncoder().encode(stateJson),
      stdout: "pipe",
      stderr: "pipe",
      timeout: h.timeout ? h.timeout * 1000 : undefined,
      killSignal: "SIGKILL",
      // Its own process group, so that a timeout can kill what the hook started too.
      detached: true,
    } as any);
  } catch (e: any) {
    throw new RuntimeError(`${label}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
  }
  const out = (new TextDecoder().decode(r.stdout ?? new Uint8Array()) + new TextDecoder().decode(r.stderr ?? new Uint8Array())).trim();
  const tail = out ? `, output: ${out.slice(-1024).replace(/\s*\n\s*/g, " ")}` : "";
  if ((r as any).exitedDueToTimeout) {
    try {
      process.kill(-r.pid, "SIGKILL");
    } catch {}
    throw new RuntimeError(`${label}: timed out after ${h.timeout}s${tail}`);
  }
  if (r.signalCode) throw new RuntimeError(`${label}: signal: ${SIGNAL_NAMES[r.signalCode] ?? r.signalCode}${tail}`);
  if (r.exitCode !== 0) throw new RuntimeError(`${label}: exit status ${r.exitCode}${tail}`);
  if (debugOn) debug(`${point} hook ${h.path}: done${tail}`);
}

/** Runs hooks in order; the first failure stops the rest and is thrown. */
export function runHooks(point: HookPoint, hooks: Hook[] | undefined, stateJson: string, cwd?: string): void {
  (hooks ?? []).forEach((h, i) => runHook(point, h, stateJson, i, cwd));
}

/** poststop and poststart failures are only warned about, as the spec says. */
export function runHooksWarn(point: HookPoint, hooks: Hook[] | undefined, stateJson: string, warn: (m: string) => void, cwd?: string): void {
  (hooks ?? []).forEach((h, i) => {
    try {
      runHook(point, h, stateJson, i, cwd);
    } catch (e: any) {
      warn(e.message);
    }
  });
}
