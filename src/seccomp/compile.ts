// linux.seccomp → classic BPF, compiled by libseccomp and exported rather than loaded:
// the runtime is multi-threaded and must stay unfiltered, so the program travels in the
// plan and the stub installs it with seccomp(2) just before execve.
import { exactInteger } from "../spec/json";
import type { SeccompArgInput, SeccompInput, SeccompSyscallInput } from "./config";
import { SeccompError } from "./errors";
import { auditArchOf, prependEnosysStub, type ArchLimit } from "./enosys";
import { captureFd, errnoText, kernelAcceptsFilterFlags, probeBitsFor } from "./kernel";
import { ATTR, libseccomp, NR_SCMP_ERROR, type ArgCmp, type FilterCtx, type Libseccomp } from "./libseccomp";
import {
  ACTIONS,
  ACTIONS_WITH_DATA,
  ARCHES,
  EPERM,
  FILTER_FLAG,
  MAX_SYSCALL_ARGS,
  OPERATORS,
  SPEC_FLAGS,
  type ActionName,
} from "./names";

export interface CompiledSeccomp {
  /** struct sock_filter[]: 8 bytes per instruction, native endianness. */
  bpf: Uint8Array;
  /** SECCOMP_FILTER_FLAG_* for seccomp(SECCOMP_SET_MODE_FILTER, flags, prog). */
  flags: number;
  listenerPath?: string;
  listenerMetadata?: string;
  /** Some rule notifies: the stub gets a listener fd that must reach listenerPath. */
  needsNotify: boolean;
}

const EEXIST = 17;
const EDOM = 33;
// libseccomp ≤ 2.5.4 builds a wrong tree for an empty rule set, so like runc the
// binary-tree layout is only asked for once there are enough rules to gain from it.
const OPTIMIZE_ABOVE = 32;
// After the SECCOMP step the stub hands the listener fd to the runtime with sendmsg(2).
// Were sendmsg itself notified, it would wait for an agent that can only get the fd
// from that very call. write(2) is refused as runc refuses it: the stub writes to the
// exec fifo under the filter, and a profile written for runc never notifies it.
const NEVER_NOTIFIED = new Set(["sendmsg", "write"]);

// A syscall that gets through by default needs no ENOSYS: TRACE counts as permissive, as
// in runc, since a tracer should handle calls it does not know itself.
const PERMISSIVE = new Set(["SCMP_ACT_ALLOW", "SCMP_ACT_LOG", "SCMP_ACT_TRACE"]);

interface Rule {
  field: string;
  name: string;
  action: number;
  args: ArgCmp[];
  /** Two conditions on one argument: each condition becomes its own rule. */
  split: boolean;
}

export function compileSeccomp(s: SeccompInput, warn: (msg: string) => void): CompiledSeccomp {
  if (s.listenerMetadata !== undefined && s.listenerPath === undefined) {
    throw new SeccompError("linux.seccomp.listenerMetadata: set without listenerPath");
  }
  const defaultAction = actionValue(s.defaultAction, s.defaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet");
  if (s.defaultAction === "SCMP_ACT_NOTIFY") {
    // Every syscall of the stub after the filter, sendmsg of the listener included, would block.
    throw new SeccompError("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be used as default action");
  }
  const rules = (s.syscalls ?? []).flatMap((sc, i) => expandRules(sc, `linux.seccomp.syscalls[${i}]`, warn));
  const needsNotify = (s.syscalls ?? []).some((sc) => sc.action === "SCMP_ACT_NOTIFY");
  if (needsNotify && !s.listenerPath) {
    throw new SeccompError("linux.seccomp.listenerPath: required when a rule uses SCMP_ACT_NOTIFY");
  }
  const arches = archTokens(s.architectures ?? []);
  const flags = filterFlags(s.flags, needsNotify, warn);

  const lib = libseccomp();
  if (needsNotify && lib.apiGet() < 5) {
    throw new SeccompError("linux.seccomp: SCMP_ACT_NOTIFY needs libseccomp >= 2.5.0 and Linux >= 5.0");
  }
  const ctx = lib.init(defaultAction);
  if (ctx === null || ctx === 0 || ctx === 0n) {
    throw new SeccompError(`linux.seccomp.defaultAction: ${s.defaultAction} is not supported by libseccomp or the kernel`);
  }
  try {
    // Only seccomp_load() reads NNP, and it is never called; cleared anyway so the
    // context cannot imply NO_NEW_PRIVS, which the stub sets only when the config asks.
    check(lib.attrSet(ctx, ATTR.CTL_NNP, 0), "linux.seccomp: clearing SCMP_FLTATR_CTL_NNP");
    for (const { field, name, token } of arches) {
      const rc = lib.archAdd(ctx, token);
      if (rc === -EDOM) throw new SeccompError(`${field}: ${name} cannot share a filter with the native architecture (byte order)`);
      if (rc < 0 && rc !== -EEXIST) throw new SeccompError(`${field}: adding architecture: ${errnoText(-rc)}`);
    }
    // Not fatal: an older libseccomp without the attribute still builds a correct, linear filter.
    if (rules.length > OPTIMIZE_ABOVE) lib.attrSet(ctx, ATTR.CTL_OPTIMIZE, 2);
    addRules(lib, ctx, rules, defaultAction, warn);
    const exported = captureFd("seccomp_export_bpf", (fd) => lib.exportBpf(ctx, fd));
    if (exported.length === 0 || exported.length % 8 !== 0) {
      throw new SeccompError(`linux.seccomp: libseccomp exported ${exported.length} bytes, not a whole BPF program`);
    }
    const bpf = PERMISSIVE.has(s.defaultAction) ? exported : prependEnosysStub(exported, archLimits(lib, arches, s.syscalls ?? []));
    return {
      bpf,
      flags,
      ...(s.listenerPath !== undefined ? { listenerPath: s.listenerPath } : {}),
      ...(s.listenerMetadata !== undefined ? { listenerMetadata: s.listenerMetadata } : {}),
      needsNotify,
    };
  } finally {
    lib.release(ctx);
  }
}

function addRules(lib: Libseccomp, ctx: FilterCtx, rules: Rule[], defaultAction: number, warn: (msg: string) => void): void {
  const unknown = new Set<string>();
  for (const r of rules) {
    // libseccomp refuses a rule that repeats the default action (EACCES); such a rule
    // changes nothing, so it is dropped as runc and crun drop it.
    if (r.action === defaultAction) continue;
    const nr = lib.syscallResolveName(r.name);
    if (nr === NR_SCMP_ERROR) {
      // Profiles name syscalls newer than the installed libseccomp, which has no number
      // for them; like runc, the rule is left out and such a call meets the default action.
      if (!unknown.has(r.name)) warn(`seccomp: syscall "${r.name}" unknown, skipped`);
      unknown.add(r.name);
      continue;
    }
    const groups = r.split ? r.args.map((a) => [a]) : [r.args];
    for (const args of groups) {
      const rc = lib.ruleAddArray(ctx, r.action, nr, args);
      if (rc < 0) throw new SeccompError(`${r.field}: adding rule for syscall "${r.name}": ${errnoText(-rc)}`);
    }
  }
}

/**
 * The highest syscall number the profile names, per listed architecture (every rule
 * counts, whatever its action). Architectures the config does not list get no stub,
 * as with runc: they meet the filter's bad-arch action anyway.
 */
function archLimits(lib: Libseccomp, arches: { name: string; token: number }[], syscalls: SeccompSyscallInput[]): ArchLimit[] {
  const byAudit = new Map<number, ArchLimit>();
  for (const { name, token } of arches) {
    let max = -1;
    for (const sc of syscalls) {
      for (const n of sc.names ?? []) {
        const nr = lib.syscallResolveNameArch(token, n);
        if (nr > max) max = nr;
      }
    }
    if (max <= 0) continue;
    const audit = auditArchOf(name, token);
    const l = byAudit.get(audit) ?? { auditArch: audit };
    if (name === "SCMP_ARCH_X32") l.x32Max = max;
    else l.max = max;
    byAudit.set(audit, l);
  }
  return [...byAudit.values()];
}

function expandRules(sc: SeccompSyscallInput, field: string, warn: (msg: string) => void): Rule[] {
  if (!Array.isArray(sc.names) || sc.names.length === 0) throw new SeccompError(`${field}.names: must list at least one syscall`);
  const action = actionValue(sc.action, sc.errnoRet, `${field}.action`, `${field}.errnoRet`);
  const args = (sc.args ?? []).map((a, j) => argCmp(a, `${field}.args[${j}]`, warn));
  // libseccomp cannot AND two comparisons of one argument in a rule (EINVAL). runc then
  // adds each condition as a rule of its own, so they OR; profiles written for runc
  // (e.g. "arg0 == A", "arg0 == B" meaning either value) rely on that reading, and it
  // applies to every condition of the entry, as in runc.
  const seen = new Set<number>();
  let split = false;
  for (const a of args) {
    if (seen.has(a.arg)) split = true;
    seen.add(a.arg);
  }
  return sc.names.map((name, k) => {
    if (typeof name !== "string" || name === "") throw new SeccompError(`${field}.names[${k}]: empty syscall name`);
    if (sc.action === "SCMP_ACT_NOTIFY" && NEVER_NOTIFIED.has(name)) {
      throw new SeccompError(`${field}: SCMP_ACT_NOTIFY cannot be used for the ${name} syscall`);
    }
    return { field, name, action, args, split };
  });
}

function actionValue(name: string, errnoRet: number | undefined, field: string, errnoField: string): number {
  if (!Object.hasOwn(ACTIONS, name)) throw new SeccompError(`${field}: unknown action ${JSON.stringify(name)}`);
  const base = ACTIONS[name as ActionName];
  if (!ACTIONS_WITH_DATA.has(name)) {
    // The spec: an errno on an action that cannot carry one MUST be an error.
    if (errnoRet !== undefined) throw new SeccompError(`${errnoField}: ${name} does not take an errno`);
    return base;
  }
  const data = errnoRet ?? EPERM;
  if (!Number.isInteger(data) || data < 0 || data > 0xffff) {
    throw new SeccompError(`${errnoField}: ${data} does not fit the 16 bits of a seccomp return value`);
  }
  return (base | data) >>> 0;
}

const U64_MAX = (1n << 64n) - 1n;

function u64(holder: object, key: string, field: string, warn: (msg: string) => void): bigint {
  // parseJson keeps the digits of integers a double cannot hold (masks near 2^64).
  const v = exactInteger(holder, key) ?? (holder as Record<string, unknown>)[key];
  if (typeof v === "bigint") {
    if (v < 0n || v > U64_MAX) throw new SeccompError(`${field}: ${v} is not a uint64`);
    return v;
  }
  // 2^64-1 written in a config reaches here as the double 2^64 unless parseJson kept it.
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || BigInt(v) > U64_MAX) {
    throw new SeccompError(`${field}: ${JSON.stringify(v)} is not a uint64`);
  }
  if (!Number.isSafeInteger(v)) warn(`${field}: ${v} is above 2^53 and may not be the exact value written in the config`);
  return BigInt(v);
}

function argCmp(a: SeccompArgInput, field: string, warn: (msg: string) => void): ArgCmp {
  if (!Number.isInteger(a.index) || a.index < 0 || a.index >= MAX_SYSCALL_ARGS) {
    throw new SeccompError(`${field}.index: ${a.index} is not a syscall argument index (0-${MAX_SYSCALL_ARGS - 1})`);
  }
  if (!Object.hasOwn(OPERATORS, a.op)) throw new SeccompError(`${field}.op: unknown operator ${JSON.stringify(a.op)}`);
  // For MASKED_EQ libseccomp reads datum_a as the mask and datum_b as the value the
  // masked argument must equal, matching value/valueTwo as runc passes them.
  return {
    arg: a.index,
    op: OPERATORS[a.op as keyof typeof OPERATORS],
    datum_a: u64(a, "value", `${field}.value`, warn),
    datum_b: a.valueTwo === undefined ? 0n : u64(a, "valueTwo", `${field}.valueTwo`, warn),
  };
}

function archTokens(names: string[]): { field: string; name: string; token: number }[] {
  const lib = names.length ? libseccomp() : undefined;
  return names.map((name, i) => {
    const field = `linux.seccomp.architectures[${i}]`;
    if (!Object.hasOwn(ARCHES, name)) throw new SeccompError(`${field}: unknown architecture ${JSON.stringify(name)}`);
    const token = lib!.archResolveName(ARCHES[name]!);
    if (!token) throw new SeccompError(`${field}: ${name} is not supported by this libseccomp`);
    return { field, name, token };
  });
}

/**
 * The flags travel with the program instead of being set as libseccomp attributes:
 * CTL_TSYNC, CTL_LOG and CTL_SSB only change the flags seccomp_load() passes to the
 * kernel, never the exported BPF, and the stub makes that seccomp(2) call itself. This
 * also lets WAIT_KILLABLE_RECV work with a libseccomp that predates it.
 */
function filterFlags(names: string[] | undefined, needsNotify: boolean, warn: (msg: string) => void): number {
  let bits = 0;
  if (names === undefined) {
    // runc's default when the config says nothing: opt out of the Speculative Store
    // Bypass mitigation that kernels configured with spec_store_bypass_disable=seccomp
    // force on every filtered task. An explicit list, even empty, is taken as written.
    if (kernelAcceptsFilterFlags(FILTER_FLAG.SPEC_ALLOW)) bits |= FILTER_FLAG.SPEC_ALLOW;
  } else {
    names.forEach((name, i) => {
      const field = `linux.seccomp.flags[${i}]`;
      if (!Object.hasOwn(SPEC_FLAGS, name)) throw new SeccompError(`${field}: unknown flag ${JSON.stringify(name)}`);
      const bit = SPEC_FLAGS[name as keyof typeof SPEC_FLAGS];
      // The stub is single-threaded when it installs the filter, so there is no thread to
      // synchronise; passing TSYNC would only make the kernel refuse it next to
      // NEW_LISTENER. runc accepts and drops it the same way.
      if (bit === FILTER_FLAG.TSYNC) return;
      if (bit === FILTER_FLAG.WAIT_KILLABLE_RECV && !needsNotify) {
        // It only changes how a notified syscall waits, and the kernel rejects it without a listener.
        warn(`seccomp: ${name} has no effect without SCMP_ACT_NOTIFY rules, ignored`);
        return;
      }
      if (!kernelAcceptsFilterFlags(probeBitsFor(bit))) throw new SeccompError(`${field}: ${name} is not supported by the kernel`);
      bits |= bit;
    });
  }
  if (needsNotify) bits |= FILTER_FLAG.NEW_LISTENER;
  return bits;
}

function check(rc: number, what: string): void {
  if (rc < 0) throw new SeccompError(`${what}: ${errnoText(-rc)}`);
}
