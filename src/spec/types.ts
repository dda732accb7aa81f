// The names the rest of the runtime uses for runtime-spec documents. They follow
// the Go names of the runtime-spec (specs-go) so that reading runc or the spec
// side by side with this code is easy. All come from types.gen.ts, generated
// from schemas/ by scripts/gen-types.ts.

export type {
  Spec,
  Process,
  Box,
  User,
  Mount,
  Hooks,
  Hook,
  Root,
  POSIXRlimit,
  Scheduler,
  CPUAffinity,
  Linux,
  LinuxNamespace,
  LinuxNamespaceType,
  LinuxIDMapping,
  LinuxDevice,
  LinuxDeviceCgroup,
  LinuxResources,
  LinuxPids,
  LinuxBlockIO,
  LinuxBlockIODevice,
  LinuxWeightDevice,
  LinuxThrottleDevice,
  LinuxCPU,
  LinuxHugepageLimit,
  LinuxMemory,
  LinuxNetwork,
  LinuxInterfacePriority,
  LinuxRdma,
  LinuxSeccomp,
  LinuxSeccompAction,
  LinuxSeccompArch,
  LinuxSeccompFlag,
  LinuxSeccompOperator,
  LinuxSyscall,
  LinuxSeccompArg,
  LinuxCapabilities,
  LinuxIOPriority,
  LinuxIntelRdt,
  LinuxMemoryPolicy,
  LinuxPersonality,
  LinuxTimeOffsets,
  LinuxTimeOffset,
  LinuxNetDevice,
  State,
  Features,
  LinuxFeatures,
} from "./types.gen";

import type { Hooks, State } from "./types.gen";

/** Hook points, in the order the runtime-spec lists them. */
export const HOOK_NAMES = [
  "prestart",
  "createRuntime",
  "createContainer",
  "startContainer",
  "poststart",
  "poststop",
] as const satisfies readonly (keyof Hooks)[];

export type HookName = (typeof HOOK_NAMES)[number];

export type Status = State["status"];
