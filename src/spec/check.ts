// Rules for config.json that the JSON schema cannot express but the
// runtime-spec (or runc, whose behaviour engines rely on) requires. Each
// problem is "/json/pointer: reason", like the schema problems.

import { HOOK_NAMES, type Spec } from "./types";
import { rlimitNumber } from "../process/rlimits";

export interface CheckOptions {
  /** create and run need a process; other readers of a config may not. */
  requireProcess: boolean;
}

// SemVer with major 1; the spec promises compatibility within a major version.
const version1 = /^1\.\d+(\.\d+)?([-+][0-9A-Za-z.+-]*)?$/;

/** The first semantic problem in a schema-valid config, or null. */
export function semanticProblem(spec: Spec, opts: CheckOptions): string | null {
  if (!version1.test(spec.ociVersion)) {
    return `/ociVersion: unsupported version ${JSON.stringify(spec.ociVersion)}, must be 1.x`;
  }

  if (!spec.root) return "/root: is required";
  if (spec.root.path === "") return "/root/path: must not be empty";

  const proc = spec.process;
  if (proc) {
    if (!proc.args) {
      if (opts.requireProcess) return "/process/args: is required";
    } else if (proc.args.length === 0) {
      return "/process/args: must not be empty";
    }
    if (!proc.cwd.startsWith("/")) return "/process/cwd: must be an absolute path";
    if (proc.rlimits) {
      const seen = new Set<string>();
      for (const [i, rl] of proc.rlimits.entries()) {
        if (rlimitNumber(rl.type) === undefined) return `/process/rlimits/${i}/type: unknown resource ${rl.type}`;
        if (seen.has(rl.type)) return `/process/rlimits/${i}/type: duplicate ${rl.type}`;
        seen.add(rl.type);
        if (rl.soft > rl.hard) return `/process/rlimits/${i}: soft limit is above the hard limit`;
      }
    }
  } else if (opts.requireProcess) {
    return "/process: is required";
  }

  for (const name of HOOK_NAMES) {
    const list = spec.hooks?.[name];
    if (!list) continue;
    for (const [i, hook] of list.entries()) {
      if (!hook.path.startsWith("/")) return `/hooks/${name}/${i}/path: must be an absolute path`;
    }
  }

  return linuxProblem(spec);
}

function linuxProblem(spec: Spec): string | null {
  const linux = spec.linux;
  const kinds = new Set<string>();
  let newUserNs = false;
  for (const [i, ns] of (linux?.namespaces ?? []).entries()) {
    if (kinds.has(ns.type)) return `/linux/namespaces/${i}/type: duplicate namespace ${ns.type}`;
    kinds.add(ns.type);
    if (ns.path !== undefined && !ns.path.startsWith("/")) {
      return `/linux/namespaces/${i}/path: must be an absolute path`;
    }
    if (ns.type === "user" && !ns.path) newUserNs = true;
  }

  const uidMaps = linux?.uidMappings?.length ?? 0;
  const gidMaps = linux?.gidMappings?.length ?? 0;
  if (kinds.has("user")) {
    // Joining an existing user namespace takes its mappings as they are.
    if (newUserNs && uidMaps === 0) return "/linux: user namespace without uidMappings";
    if (newUserNs && gidMaps === 0) return "/linux: user namespace without gidMappings";
  } else {
    if (uidMaps > 0) return "/linux/uidMappings: mappings without a user namespace";
    if (gidMaps > 0) return "/linux/gidMappings: mappings without a user namespace";
  }

  // runc refuses these rather than silently changing the host's names.
  if (spec.hostname && !kinds.has("uts")) return "/hostname: needs a uts namespace";
  if (spec.domainname && !kinds.has("uts")) return "/domainname: needs a uts namespace";

  return null;
}
