// Rootless: not root in the initial user namespace. Either a non-zero euid, or uid 0
// inside a user namespace another program made (podman runs its runtime so). Neither
// has the rights over the host's cgroup tree that root has. runc 1.1.5 decides the same
// way (rootless_linux.go), with its global --rootless true|false|auto overriding; it
// reads no environment variable for it (ROOTLESS is only its test suite's), nor do we.
import { RuntimeError } from "../errors";
import { inUserNamespace } from "./userns";

/** Go's strconv.ParseBool, as runc reads --rootless; undefined for "auto" or empty. */
export function parseBoolOrAuto(v: string | undefined): boolean | undefined {
  if (v === undefined || v === "" || v.toLowerCase() === "auto") return undefined;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
  throw new RuntimeError(`invalid --rootless value ${JSON.stringify(v)}: want true, false or auto`);
}

export function isRootless(flag: string | undefined, euid = process.geteuid?.() ?? 0): boolean {
  const forced = parseBoolOrAuto(flag);
  if (forced !== undefined) return forced;
  if (euid !== 0) return true;
  return inUserNamespace();
}
