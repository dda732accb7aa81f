// cgroup v2 has no devices.allow: the allowlist is a BPF_PROG_TYPE_CGROUP_DEVICE program.
// This builds it from the same rules the v1 driver writes, with v1's meaning: the last
// rule that matches a device decides, and a device no rule matches is denied.
import { WILDCARD, type DeviceRule } from "./devices";

// struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }
// access_type = (access << 16) | type
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACC_MKNOD = 1;
const ACC_READ = 2;
const ACC_WRITE = 4;

// Opcodes (linux/bpf_common.h, linux/bpf.h)
const LDX_MEM_W = 0x61;
const ALU64_AND_K = 0x57;
const ALU64_RSH_K = 0x77;
const ALU64_MOV_K = 0xb7;
const ALU64_MOV_X = 0xbf;
const JMP_JNE_K = 0x55;
const JMP_JNE_X = 0x5d;
const EXIT = 0x95;

type Insn = [code: number, dst: number, src: number, off: number, imm: number];

function accessMask(access: string): number {
  let m = 0;
  if (access.includes("m")) m |= ACC_MKNOD;
  if (access.includes("r")) m |= ACC_READ;
  if (access.includes("w")) m |= ACC_WRITE;
  return m;
}

/** One block per rule: any mismatch jumps past the block's end, to the next rule. */
function ruleBlock(r: DeviceRule): Insn[] {
  const NEXT = Number.NaN; // patched below to "the end of this block"
  const block: Insn[] = [];
  if (r.type !== "a") block.push([JMP_JNE_K, 2, 0, NEXT, r.type === "b" ? DEV_BLOCK : DEV_CHAR]);
  const mask = accessMask(r.access);
  if (mask !== (ACC_MKNOD | ACC_READ | ACC_WRITE)) {
    // the requested access must be a subset of the rule's: (r3 & mask) == r3
    block.push([ALU64_MOV_X, 1, 3, 0, 0], [ALU64_AND_K, 1, 0, 0, mask], [JMP_JNE_X, 1, 3, NEXT, 0]);
  }
  if (r.major !== WILDCARD) block.push([JMP_JNE_K, 4, 0, NEXT, r.major]);
  if (r.minor !== WILDCARD) block.push([JMP_JNE_K, 5, 0, NEXT, r.minor]);
  block.push([ALU64_MOV_K, 0, 0, 0, r.allow ? 1 : 0], [EXIT, 0, 0, 0, 0]);
  block.forEach((insn, i) => {
    if (Number.isNaN(insn[3])) insn[3] = block.length - i - 1;
  });
  return block;
}

/** The program as raw bpf_insn bytes. */
export function deviceFilterProgram(rules: readonly DeviceRule[]): Uint8Array {
  const insns: Insn[] = [
    [LDX_MEM_W, 2, 1, 0, 0], // r2 = access_type
    [ALU64_AND_K, 2, 0, 0, 0xffff], // r2 = type
    [LDX_MEM_W, 3, 1, 0, 0],
    [ALU64_RSH_K, 3, 0, 0, 16], // r3 = access
    [LDX_MEM_W, 4, 1, 4, 0], // r4 = major
    [LDX_MEM_W, 5, 1, 8, 0], // r5 = minor
  ];
  // v1 semantics are "last match wins": test the rules newest first, first match returns.
  for (let i = rules.length - 1; i >= 0; i--) {
    const r = rules[i]!;
    if (r.type === "a" && r.major === WILDCARD && r.minor === WILDCARD && r.access === "rwm") {
      // "a" matches everything: nothing before it in the config can matter.
      insns.push([ALU64_MOV_K, 0, 0, 0, r.allow ? 1 : 0], [EXIT, 0, 0, 0, 0]);
      return encode(insns);
    }
    insns.push(...ruleBlock(r));
  }
  insns.push([ALU64_MOV_K, 0, 0, 0, 0], [EXIT, 0, 0, 0, 0]);
  return encode(insns);
}

function encode(insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  const dv = new DataView(out.buffer);
  insns.forEach(([code, dst, src, off, imm], i) => {
    dv.setUint8(i * 8, code);
    dv.setUint8(i * 8 + 1, (src << 4) | dst);
    dv.setInt16(i * 8 + 2, off, true);
    dv.setInt32(i * 8 + 4, imm, true);
  });
  return out;
}
