// libseccomp through koffi. Loaded on first use: only create, run and features need a
// filter compiler, and dlopen plus the bindings cost every other command for nothing.
import type * as Koffi from "koffi";
import { koffi as K } from "../native/koffi";
import { SeccompError } from "./errors";

/** enum scmp_filter_attr values used here. */
export const ATTR = {
  CTL_NNP: 3,
  CTL_OPTIMIZE: 8,
} as const;

/** __NR_SCMP_ERROR: the name is unknown to libseccomp on every architecture. */
export const NR_SCMP_ERROR = -1;

export interface ArgCmp {
  arg: number;
  op: number;
  datum_a: bigint;
  datum_b: bigint;
}

/** An opaque scmp_filter_ctx; koffi hands it back as a pointer value. */
export type FilterCtx = unknown;

export interface Libseccomp {
  init(defAction: number): FilterCtx | null;
  release(ctx: FilterCtx): void;
  archAdd(ctx: FilterCtx, token: number): number;
  archNative(): number;
  archResolveName(name: string): number;
  syscallResolveName(name: string): number;
  /** The number of `name` for one architecture (x32's with its ABI bit); negative when unknown or multiplexed. */
  syscallResolveNameArch(token: number, name: string): number;
  ruleAddArray(ctx: FilterCtx, action: number, nr: number, args: ArgCmp[]): number;
  attrSet(ctx: FilterCtx, attr: number, value: number): number;
  exportBpf(ctx: FilterCtx, fd: number): number;
  apiGet(): number;
  /** "major.minor.micro" of the loaded library. */
  version(): string;
}

let loaded: Libseccomp | undefined;

export function libseccomp(): Libseccomp {
  if (loaded) return loaded;
  const koffi = K();
  let lib: Koffi.IKoffiLib;
  try {
    lib = koffi.load("libseccomp.so.2");
  } catch (e) {
    throw new SeccompError(`seccomp: cannot load libseccomp.so.2: ${(e as Error).message}`);
  }
  const argCmp = koffi.struct("scmp_arg_cmp", {
    arg: "unsigned int",
    op: "int",
    datum_a: "uint64_t",
    datum_b: "uint64_t",
  });
  const init = lib.func("void *seccomp_init(uint32_t def_action)");
  const release = lib.func("void seccomp_release(void *ctx)");
  const archAdd = lib.func("int seccomp_arch_add(void *ctx, uint32_t arch_token)");
  const archNative = lib.func("uint32_t seccomp_arch_native(void)");
  const archResolveName = lib.func("uint32_t seccomp_arch_resolve_name(const char *arch_name)");
  const syscallResolveName = lib.func("int seccomp_syscall_resolve_name(const char *name)");
  const syscallResolveNameArch = lib.func("int seccomp_syscall_resolve_name_arch(uint32_t arch_token, const char *name)");
  const ruleAddArray = lib.func(
    "seccomp_rule_add_array",
    "int",
    ["void *", "uint32_t", "int", "unsigned int", koffi.pointer(argCmp)],
  );
  const attrSet = lib.func("int seccomp_attr_set(void *ctx, int attr, uint32_t value)");
  const exportBpf = lib.func("int seccomp_export_bpf(void *ctx, int fd)");
  const apiGet = lib.func("unsigned int seccomp_api_get(void)");
  const scmpVersion = koffi.struct("scmp_version", { major: "unsigned int", minor: "unsigned int", micro: "unsigned int" });
  const version = lib.func("seccomp_version", koffi.pointer(scmpVersion), []);
  loaded = {
    init: (a) => init(a >>> 0) ?? null,
    release: (ctx) => release(ctx),
    archAdd: (ctx, t) => archAdd(ctx, t >>> 0),
    archNative: () => archNative(),
    archResolveName: (n) => archResolveName(n),
    syscallResolveName: (n) => syscallResolveName(n),
    syscallResolveNameArch: (t, n) => syscallResolveNameArch(t >>> 0, n),
    ruleAddArray: (ctx, action, nr, args) => ruleAddArray(ctx, action >>> 0, nr, args.length, args.length ? args : null),
    attrSet: (ctx, attr, v) => attrSet(ctx, attr, v >>> 0),
    exportBpf: (ctx, fd) => exportBpf(ctx, fd),
    apiGet: () => apiGet(),
    version: () => {
      const v = koffi.decode(version(), scmpVersion) as { major: number; minor: number; micro: number };
      return `${v.major}.${v.minor}.${v.micro}`;
    },
  };
  return loaded;
}
