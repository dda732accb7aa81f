// The process attributes beyond ids and capabilities: personality, scheduler, I/O
// priority, CPU affinity and the LSM labels, each turned into a stub step here.
import { existsSync, readFileSync } from "node:fs";
import type { Process, Spec } from "../spec/types";
import { Op, type Step } from "../native/protocol";
import { RuntimeError } from "../errors";

const u64 = (n: number | bigint) => ({ u64: n });

const PERSONA: Record<string, number> = { LINUX: 0x0000, LINUX32: 0x0008 };
// The spec leaves personality flags open; these are the kernel's names for the bits.
const PERSONA_FLAGS: Record<string, number> = {
  UNAME26: 0x0020000, ADDR_NO_RANDOMIZE: 0x0040000, FDPIC_FUNCPTRS: 0x0080000, MMAP_PAGE_ZERO: 0x0100000,
  ADDR_COMPAT_LAYOUT: 0x0200000, READ_IMPLIES_EXEC: 0x0400000, ADDR_LIMIT_32BIT: 0x0800000,
  SHORT_INODE: 0x1000000, WHOLE_SECONDS: 0x2000000, STICKY_TIMEOUTS: 0x4000000, ADDR_LIMIT_3GB: 0x8000000,
};

export function personalityStep(spec: Spec): Step | undefined {
  const p = spec.linux?.personality;
  if (!p) return undefined;
  const base = PERSONA[p.domain ?? "LINUX"];
  if (base === undefined) throw new RuntimeError(`config.json: linux.personality.domain "${p.domain}" is not supported`);
  let v = base;
  for (const f of p.flags ?? []) {
    const bit = PERSONA_FLAGS[f];
    if (bit === undefined) throw new RuntimeError(`config.json: linux.personality.flags: unknown flag "${f}"`);
    v |= bit;
  }
  return { op: Op.PERSONALITY, fields: [u64(v)] };
}

const POLICY: Record<string, number> = {
  SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6,
};
const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01, SCHED_FLAG_RECLAIM: 0x02, SCHED_FLAG_DL_OVERRUN: 0x04, SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10, SCHED_FLAG_UTIL_CLAMP_MIN: 0x20, SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};

export function schedulerStep(proc: Process): Step | undefined {
  const s = proc.scheduler;
  if (!s) return undefined;
  const policy = POLICY[s.policy];
  if (policy === undefined) throw new RuntimeError(`config.json: process.scheduler.policy "${s.policy}" is not supported`);
  let flags = 0;
  for (const f of s.flags ?? []) {
    const bit = SCHED_FLAG[f];
    if (bit === undefined) throw new RuntimeError(`config.json: process.scheduler.flags: unknown flag "${f}"`);
    flags |= bit;
  }
  const realtime = s.policy === "SCHED_FIFO" || s.policy === "SCHED_RR";
  if (realtime && !(s.priority! >= 1 && s.priority! <= 99))
    throw new RuntimeError(`config.json: process.scheduler.priority must be 1..99 for ${s.policy}`);
  if (!realtime && s.priority) throw new RuntimeError(`config.json: process.scheduler.priority must be 0 for ${s.policy}`);
  if (s.policy === "SCHED_DEADLINE" && !(s.runtime && s.deadline && s.period))
    throw new RuntimeError("config.json: SCHED_DEADLINE needs runtime, deadline and period");
  return {
    op: Op.SCHED,
    fields: [u64(policy), u64(s.priority ?? 0), u64(flags), u64(BigInt.asUintN(64, BigInt(s.nice ?? 0))), u64(s.runtime ?? 0), u64(s.deadline ?? 0), u64(s.period ?? 0)],
  };
}

const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };

export function ioPriorityStep(proc: Process): Step | undefined {
  const io = proc.ioPriority;
  if (!io) return undefined;
  const cls = IOPRIO_CLASS[io.class];
  if (cls === undefined) throw new RuntimeError(`config.json: process.ioPriority.class "${io.class}" is not valid`);
  const prio = io.priority ?? 0;
  if (!(prio >= 0 && prio <= 7)) throw new RuntimeError("config.json: process.ioPriority.priority must be 0..7");
  return { op: Op.IOPRIO, fields: [u64((cls << 13) | prio)] };
}

/** "0-3,6" → a cpu_set_t, as long as the highest cpu named needs. */
export function cpuMask(list: string, what: string): Uint8Array {
  const cpus: number[] = [];
  for (const part of list.split(",")) {
    const m = /^\s*(\d+)(?:-(\d+))?\s*$/.exec(part);
    if (!m) throw new RuntimeError(`config.json: ${what}: invalid cpu list "${list}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 8191) throw new RuntimeError(`config.json: ${what}: invalid cpu list "${list}"`);
    for (let c = a; c <= b; c++) cpus.push(c);
  }
  const bytes = new Uint8Array(Math.max(8, Math.ceil((Math.max(...cpus) + 1) / 64) * 8));
  for (const c of cpus) bytes[c >> 3]! |= 1 << (c & 7);
  return bytes;
}

export function affinityStep(list: string | undefined, what: string): Step | undefined {
  if (!list) return undefined;
  return { op: Op.AFFINITY, fields: [{ bytes: cpuMask(list, what) }] };
}

function apparmorEnabled(): boolean {
  try {
    return readFileSync("/sys/module/apparmor/parameters/enabled", "latin1").trim() === "Y";
  } catch {
    return false;
  }
}

function selinuxEnabled(): boolean {
  return existsSync("/sys/fs/selinux/enforce");
}

/**
 * AppArmor and SELinux labels are applied where the host has the LSM; where it has not,
 * a config asking for one is refused, as runc does, rather than run unconfined.
 */
export function lsmSteps(proc: Process): Step[] {
  const steps: Step[] = [];
  if (proc.apparmorProfile) {
    if (!apparmorEnabled()) throw new RuntimeError(`apparmor profile "${proc.apparmorProfile}" given, but AppArmor is not enabled on this host`);
    steps.push({ op: Op.APPARMOR, fields: [{ str: proc.apparmorProfile }] });
  }
  if (proc.selinuxLabel) {
    if (!selinuxEnabled()) throw new RuntimeError(`selinux label "${proc.selinuxLabel}" given, but SELinux is not enabled on this host`);
    steps.push({ op: Op.LABEL, fields: [{ str: proc.selinuxLabel }] });
  }
  return steps;
}

/** What comes between the last setup and the credentials: needs the privileges the drop takes away. */
export function confinementSteps(spec: Spec | undefined, proc: Process): Step[] {
  const out: (Step | undefined)[] = [
    spec ? personalityStep(spec) : undefined,
    schedulerStep(proc),
    ioPriorityStep(proc),
    affinityStep(proc.execCPUAffinity?.final, "process.execCPUAffinity.final"),
    ...lsmSteps(proc),
  ];
  return out.filter((s): s is Step => !!s);
}
