// The default --root. Root in the initial user namespace keeps /run/dx-runtime; anyone
// else gets $XDG_RUNTIME_DIR/dx-runtime, with runc's rules (main.go, rootless_linux.go):
// uid 0 inside a user namespace uses it unless $USER is "root", and with
// XDG_RUNTIME_DIR unset everyone falls back to /run/dx-runtime. Every command computes
// this, so the user namespace is looked up only when euid 0 and XDG_RUNTIME_DIR both
// leave the answer open.
import { inUserNamespace } from "./userns";
import { DEFAULT_ROOT as SYSTEM_ROOT } from "../state/store";

export interface StateRoot {
  path: string;
  /** under $XDG_RUNTIME_DIR: made 0700 with the sticky bit, so the session's cleanup keeps it */
  xdg: boolean;
}

export function defaultStateRoot(env: Record<string, string | undefined> = process.env, euid = process.geteuid?.() ?? 0): StateRoot {
  const xdg = env.XDG_RUNTIME_DIR;
  if (!xdg) return { path: SYSTEM_ROOT, xdg: false };
  if (euid === 0) {
    if (!inUserNamespace()) return { path: SYSTEM_ROOT, xdg: false };
    if (env.USER === "root") return { path: SYSTEM_ROOT, xdg: false };
  }
  return { path: `${xdg}/dx-runtime`, xdg: true };
}
