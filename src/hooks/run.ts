// Hooks the runtime itself runs (createRuntime, prestart, poststart, poststop): in the
// runtime's namespaces, with the container's state on stdin.
import { debug, debugOn } from "../cli/log";
import type { Hook } from "../spec/types";
import { RuntimeError } from "../cli/errors";

export type HookPoint = "prestart" | "createRuntime" | "createContainer" | "startContainer" | "poststart" | "poststop";

export function runHook(point: HookPoint, h: Hook, stateJson: string): void {
  const args = h.args && h.args.length ? h.args : [h.path];
  if (debugOn) debug(`${point} hook: running ${h.path} ${JSON.stringify(args)}${h.timeout ? `, timeout ${h.timeout}s` : ""}`);
  let r;
  try {
    r = Bun.spawnSync({
      cmd: [h.path, ...args.slice(1)],
      argv0: args[0],
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
    throw new RuntimeError(`${point} hook ${h.path}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
  }
  const out = (new TextDecoder().decode(r.stdout ?? new Uint8Array()) + new TextDecoder().decode(r.stderr ?? new Uint8Array())).trim();
  const tail = out ? `: ${out.slice(-1024).replace(/\s*\n\s*/g, " ")}` : "";
  if ((r as any).exitedDueToTimeout) {
    try {
      process.kill(-r.pid, "SIGKILL");
    } catch {}
    throw new RuntimeError(`${point} hook ${h.path}: timed out after ${h.timeout}s${tail}`);
  }
  if (r.signalCode) throw new RuntimeError(`${point} hook ${h.path}: killed by ${r.signalCode}${tail}`);
  if (r.exitCode !== 0) throw new RuntimeError(`${point} hook ${h.path}: exit status ${r.exitCode}${tail}`);
  if (debugOn) debug(`${point} hook ${h.path}: done${tail}`);
}

/** Runs hooks in order; the first failure stops the rest and is thrown. */
export function runHooks(point: HookPoint, hooks: Hook[] | undefined, stateJson: string): void {
  for (const h of hooks ?? []) runHook(point, h, stateJson);
}

/** poststop and poststart failures are only warned about, as the spec says. */
export function runHooksWarn(point: HookPoint, hooks: Hook[] | undefined, stateJson: string, warn: (m: string) => void): void {
  for (const h of hooks ?? []) {
    try {
      runHook(point, h, stateJson);
    } catch (e: any) {
      warn(e.message);
    }
  }
}
