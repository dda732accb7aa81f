// The shape of linux.seccomp (runtime-spec config-linux.md). Enumerations are plain
// strings and numbers may be bigints on purpose: the spec types generated from the
// schemas are assignable to these, and the compiler checks every value itself, so a
// config that skipped schema validation still gets a one-line error, not a bad filter.

export interface SeccompArgInput {
  index: number;
  value: number | bigint;
  valueTwo?: number | bigint;
  op: string;
}

export interface SeccompSyscallInput {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: SeccompArgInput[];
}

export interface SeccompInput {
  defaultAction: string;
  defaultErrnoRet?: number;
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  architectures?: string[];
  syscalls?: SeccompSyscallInput[];
}
