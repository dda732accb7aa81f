// What `features` reports under linux.seccomp: the vocabulary this build understands,
// narrowed to what the installed libseccomp and the running kernel can actually do.
import type { LinuxSeccompAction, LinuxSeccompArch, LinuxSeccompFlag, LinuxSeccompOperator } from "../spec/types";
import { kernelAcceptsFilterFlags, probeBitsFor } from "./kernel";
import { libseccomp } from "./libseccomp";
import { ACTIONS, ARCHES, OPERATORS, SPEC_FLAGS } from "./names";

export interface SeccompFeatures {
  actions: LinuxSeccompAction[];
  operators: LinuxSeccompOperator[];
  archs: LinuxSeccompArch[];
  knownFlags: LinuxSeccompFlag[];
  supportedFlags: LinuxSeccompFlag[];
  /** For the io.github.seccomp.libseccomp.version annotation runc also reports. */
  libseccompVersion: string;
}

// libseccomp API levels (seccomp_api_get(3)) at which an action became usable; the level
// already accounts for what the kernel supports.
const ACTION_API: Record<string, number> = { SCMP_ACT_KILL_PROCESS: 3, SCMP_ACT_LOG: 3, SCMP_ACT_NOTIFY: 5 };

export function seccompFeatures(): SeccompFeatures {
  const lib = libseccomp();
  const api = lib.apiGet();
  const knownFlags = Object.keys(SPEC_FLAGS) as LinuxSeccompFlag[];
  return {
    actions: (Object.keys(ACTIONS) as LinuxSeccompAction[]).filter((a) => api >= (ACTION_API[a] ?? 0)),
    operators: Object.keys(OPERATORS) as LinuxSeccompOperator[],
    archs: (Object.keys(ARCHES) as LinuxSeccompArch[]).filter((a) => lib.archResolveName(ARCHES[a]!) !== 0),
    knownFlags,
    // Probed against the kernel alone: the flags are handed to seccomp(2) directly, so
    // libseccomp's own support for them does not matter.
    supportedFlags: knownFlags.filter((f) => kernelAcceptsFilterFlags(probeBitsFor(SPEC_FLAGS[f]))),
    libseccompVersion: lib.version(),
  };
}
