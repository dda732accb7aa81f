// Loading the device filter and attaching it to a cgroup v2 directory (bpf(2) via koffi).
// A new program is attached before the old ones are detached, so the cgroup is never
// without a filter, as an update of a running container needs.
import { bpf, close, NativeBytes, openFd, O_CLOEXEC, O_RDONLY, SysError } from "../native/libc";
import { CgroupError } from "./errors";

const BPF_PROG_LOAD = 5;
const BPF_PROG_ATTACH = 8;
const BPF_PROG_DETACH = 9;
const BPF_PROG_GET_FD_BY_ID = 13;
const BPF_PROG_QUERY = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
const BPF_CGROUP_DEVICE = 6;
const BPF_F_ALLOW_MULTI = 2;
const O_DIRECTORY = 0o200000;

function loadProgram(insns: Uint8Array): number {
  const mem = new NativeBytes();
  try {
    const log = mem.room(65536);
    const attr = Buffer.alloc(128);
    attr.writeUInt32LE(BPF_PROG_TYPE_CGROUP_DEVICE, 0);
    attr.writeUInt32LE(insns.length / 8, 4);
    attr.writeBigUInt64LE(mem.put(insns), 8);
    attr.writeBigUInt64LE(mem.put(new TextEncoder().encode("Apache\0")), 16);
    attr.writeUInt32LE(1, 24); // log_level
    attr.writeUInt32LE(65536, 28);
    attr.writeBigUInt64LE(log.at, 32);
    Buffer.from("dx_devices").copy(attr, 48);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 68);
    try {
      return bpf(BPF_PROG_LOAD, attr, "load device filter");
    } catch (e) {
      const text = new TextDecoder().decode(log.read()).replace(/\0.*$/s, "").trim().split("\n").slice(-2).join(" ");
      throw new CgroupError(`cgroup: ${(e as Error).message}${text ? ` (${text})` : ""}`);
    }
  } finally {
    mem.free();
  }
}

function attachedIds(cgfd: number): number[] {
  const mem = new NativeBytes();
  try {
    const ids = mem.room(4 * 64);
    const attr = Buffer.alloc(64);
    attr.writeUInt32LE(cgfd, 0);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 4);
    attr.writeBigUInt64LE(ids.at, 16);
    attr.writeUInt32LE(64, 24);
    bpf(BPF_PROG_QUERY, attr, "query device filters");
    const n = attr.readUInt32LE(24);
    const raw = Buffer.from(ids.read());
    return Array.from({ length: n }, (_, i) => raw.readUInt32LE(i * 4));
  } finally {
    mem.free();
  }
}

/** Replaces whatever device programs the cgroup has with one built from `insns`. */
export function attachDeviceFilter(dir: string, insns: Uint8Array): void {
  let cgfd = -1;
  let prog = -1;
  try {
    cgfd = openFd(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    const old = attachedIds(cgfd);
    prog = loadProgram(insns);
    const attr = Buffer.alloc(32);
    attr.writeUInt32LE(cgfd, 0);
    attr.writeUInt32LE(prog, 4);
    attr.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
    attr.writeUInt32LE(BPF_F_ALLOW_MULTI, 12);
    bpf(BPF_PROG_ATTACH, attr, `attach device filter to ${dir}`);
    for (const id of old) {
      const ga = Buffer.alloc(16);
      ga.writeUInt32LE(id, 0);
      let ofd = -1;
      try {
        ofd = bpf(BPF_PROG_GET_FD_BY_ID, ga, "get device filter");
        const da = Buffer.alloc(32);
        da.writeUInt32LE(cgfd, 0);
        da.writeUInt32LE(ofd, 4);
        da.writeUInt32LE(BPF_CGROUP_DEVICE, 8);
        bpf(BPF_PROG_DETACH, da, "detach old device filter");
      } finally {
        if (ofd >= 0) close(ofd);
      }
    }
  } catch (e) {
    if (e instanceof CgroupError) throw e;
    if (e instanceof SysError) throw new CgroupError(`cgroup: ${e.message}`);
    throw e;
  } finally {
    if (prog >= 0) close(prog);
    if (cgfd >= 0) close(cgfd);
  }
}
