// The rootfs half of the plan: every mount, device node and link, in the order the
// config gives them, with targets resolved inside the rootfs by the stub.
import { statSync } from "node:fs";
import { isAbsolute, join, resolve } from "node:path";
import { MountHow, Op, type Step } from "../native/protocol";
import { MS, parseMountOptions } from "./options";
import { isShared, mountHolding, realPath } from "./mountinfo";
import type { V1HierarchyView } from "../cgroups/mounts";

export interface SpecMount {
  destination: string;
  source?: string;
  type?: string;
  options?: string[];
}

export interface SpecDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

export interface CgroupMountInfo {
  version: 1 | 2;
  /** v2: { "": host dir of the container's cgroup } */
  paths: Record<string, string>;
  /** v1: hierarchy name (as it should appear under the mount point) → what it is */
  hierarchies?: Record<string, V1HierarchyView>;
  newNamespace: boolean;
}

export interface RootfsInput {
  bundle: string;
  rootfs: string;
  mounts: SpecMount[];
  devices: SpecDevice[];
  userns: boolean;
  terminal: boolean;
  cgroup?: CgroupMountInfo;
  /** no mount namespace of its own: "/" and the rootfs are the host's, left as they are */
  hostMountNs?: boolean;
  /**
   * bind sources are opened by the stub's parent, still the host's root, in the new mount
   * namespace (BIND_SOURCES): a new user namespace's root may not be able to reach them
   */
  sourceFds?: boolean;
  /** a mount namespace joined by path: the runtime's mount table says nothing about it */
  joinedMountNs?: boolean;
}

export interface RootfsPlan {
  /** from "make / a slave" up to (not including) the pivot */
  steps: Step[];
  /** bind sources for BIND_SOURCES, by slot */
  sources: string[];
  /**
   * after the pivot: read-only remounts of tmpfs mounts and /dev, which stay writable
   * while what goes under them is made (mount points, device nodes, the console)
   */
  finish: Step[];
}

const str = (s: string) => ({ str: s });
const u64 = (n: number) => ({ u64: n });

function mount(source: string, target: string, fstype: string, flags: number, data: string, how: number): Step {
  return { op: Op.MOUNT, fields: [u64(flags), u64(how), str(source), str(target), str(fstype), str(data)] };
}

export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n) | ((ma & ~0xfffn) << 32n);
}

/** Where the config puts its own /dev, if anywhere: decides whether default nodes are made. */
export function devIsHostBind(mounts: SpecMount[]): boolean {
  return mounts.some((m) => clean(m.destination) === "/dev" && (m.type === "bind" || (m.options ?? []).some((o) => o === "bind" || o === "rbind")));
}

function clean(p: string): string {
  const r = resolve("/", p);
  return r;
}

const DEFAULT_DEVICES: SpecDevice[] = [
  { type: "c", path: "/dev/null", major: 1, minor: 3, fileMode: 0o666 },
  { type: "c", path: "/dev/zero", major: 1, minor: 5, fileMode: 0o666 },
  { type: "c", path: "/dev/full", major: 1, minor: 7, fileMode: 0o666 },
  { type: "c", path: "/dev/tty", major: 5, minor: 0, fileMode: 0o666 },
  { type: "c", path: "/dev/urandom", major: 1, minor: 9, fileMode: 0o666 },
  { type: "c", path: "/dev/random", major: 1, minor: 8, fileMode: 0o666 },
];

const DEV_LINKS: [string, string][] = [
  ["/proc/self/fd", "/dev/fd"],
  ["/proc/self/fd/0", "/dev/stdin"],
  ["/proc/self/fd/1", "/dev/stdout"],
  ["/proc/self/fd/2", "/dev/stderr"],
  ["pts/ptmx", "/dev/ptmx"],
];

const S_IFMT = 0o170000;
const TYPE_BITS: Record<string, number> = { c: 0o020000, u: 0o020000, b: 0o060000, p: 0o010000 };

export class MountError extends Error {}

export function rootfsSteps(inp: RootfsInput, rootPropagation: number): RootfsPlan {
  const plan: RootfsPlan = { steps: [], sources: [], finish: [] };
  const steps = plan.steps;
  // An unbindable tree cannot be bind-mounted, so the rootfs bind below would fail:
  // unbindable is set on the new root after the pivot; until then the tree is private.
  const before = rootPropagation & MS.UNBINDABLE ? MS.PRIVATE | MS.REC : rootPropagation || MS.SLAVE | MS.REC;
  if (!inp.hostMountNs) {
    steps.push(mount("", "/", "", before, "", 0));
    // The mount holding the rootfs (under an engine, the image's overlay mounted right
    // there) must not stay shared: its self-bind would join the peer group, show up in
    // the host's namespace, and make pivot_root refuse (EINVAL).
    const holder = inp.joinedMountNs ? undefined : mountHolding(realPath(inp.rootfs));
    if (holder) {
      const shared = before & MS.REC || holder.mountPoint === "/" ? !!(before & MS.SHARED) : isShared(holder);
      if (shared) steps.push(mount("", holder.mountPoint, "", MS.PRIVATE, "", 0));
    }
    steps.push(mount(inp.rootfs, inp.rootfs, "", MS.BIND | MS.REC, "", 0));
  }
  steps.push({ op: Op.ROOTFS, fields: [str(inp.rootfs)] });
  for (const m of inp.mounts) steps.push(...mountSteps(m, inp, plan));
  return plan;
}

function attrStep(set: number, clr: number, target: string): Step {
  return { op: Op.MOUNT_ATTR, fields: [u64(set), u64(clr), u64(MountHow.IN_ROOT), str(target)] };
}

function mountSteps(m: SpecMount, inp: RootfsInput, plan: RootfsPlan): Step[] {
  const dest = m.destination;
  if (!dest) throw new MountError("mount without destination");
  const where = `mount ${dest}`;
  const target = clean(dest);
  const o = parseMountOptions(m.options, where);
  const type = m.type ?? "";
  const steps: Step[] = [];
  const IN = MountHow.IN_ROOT;

  if (type === "cgroup" || type === "cgroup2") return cgroupSteps(target, o.flags, inp);

  if (o.bind || type === "bind") {
    if (!m.source) throw new MountError(`${where}: bind mount without source`);
    const src = isAbsolute(m.source) ? m.source : join(inp.bundle, m.source);
    let isDir: boolean;
    try {
      isDir = statSync(src).isDirectory();
    } catch (e: any) {
      throw new MountError(`${where}: source ${src}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
    }
    let how = IN | (isDir ? MountHow.MKDIR : MountHow.MKFILE);
    if (inp.sourceFds) {
      how += MountHow.SOURCE_FD + plan.sources.length * 2 ** 32;
      plan.sources.push(src);
    }
    steps.push(mount(src, target, "", MS.BIND | (o.recursive ? MS.REC : 0), "", how));
    // Bind mounts ignore every flag but MS_BIND|MS_REC on the first call: the rest
    // needs a remount, which must keep flags a user namespace has locked.
    const extra = o.flags & ~MS.REMOUNT;
    if (extra) steps.push(mount("", target, "", MS.REMOUNT | MS.BIND | extra, "", IN | MountHow.KEEP_LOCKED));
  } else {
    const how = IN | MountHow.MKDIR | (type === "proc" || type === "sysfs" ? MountHow.NO_SYMLINK : 0) | (type === "sysfs" ? MountHow.SYS_BIND_ON_EPERM : 0);
    // As runc: a read-only tmpfs or /dev is mounted writable and made read-only at the end.
    const later = (type === "tmpfs" || target === "/dev") && o.flags & MS.RDONLY;
    steps.push(mount(m.source ?? type, target, type, later ? o.flags & ~MS.RDONLY : o.flags, o.data.join(","), how));
    if (later) {
      plan.finish.push(mount("", target, "", (o.flags & ~MS.REMOUNT) | MS.REMOUNT | MS.BIND, "", IN | MountHow.KEEP_LOCKED));
      for (const p of o.propagation) steps.push(mount("", target, "", p, "", IN));
      if (o.attrSet || o.attrClr) plan.finish.push(attrStep(o.attrSet, o.attrClr, target));
      return steps;
    }
  }
  for (const p of o.propagation) steps.push(mount("", target, "", p, "", IN));
  if (o.attrSet || o.attrClr) steps.push(attrStep(o.attrSet, o.attrClr, target));
  return steps;
}

/**
 * cgroup mounts: with a cgroup namespace the kernel shows the container its own subtree,
 * so the filesystem is mounted afresh; without one, the container's own cgroup dirs are
 * bound in, so it never sees the host's tree.
 */
function cgroupSteps(target: string, flags: number, inp: RootfsInput): Step[] {
  const cg = inp.cgroup;
  if (!cg) return [];
  const IN = MountHow.IN_ROOT;
  const steps: Step[] = [];
  const bindFlags = (flags & ~MS.REMOUNT) | MS.NOSUID | MS.NODEV | MS.NOEXEC;
  if (cg.version === 2) {
    if (cg.newNamespace) {
      steps.push(mount("cgroup", target, "cgroup2", flags | MS.NOSUID | MS.NODEV | MS.NOEXEC, "", IN | MountHow.MKDIR));
    } else {
      const dir = cg.paths[""] ?? Object.values(cg.paths)[0];
      if (!dir) return [];
      steps.push(mount(dir, target, "", MS.BIND | MS.REC, "", IN | MountHow.MKDIR));
      steps.push(mount("", target, "", MS.REMOUNT | MS.BIND | bindFlags, "", IN | MountHow.KEEP_LOCKED));
    }
    return steps;
  }
  steps.push(mount("tmpfs", target, "tmpfs", MS.NOSUID | MS.NODEV | MS.NOEXEC, "mode=755", IN | MountHow.MKDIR));
  for (const [name, h] of Object.entries(cg.hierarchies ?? {})) {
    const sub = `${target}/${name}`;
    if (cg.newNamespace) {
      steps.push(mount("cgroup", sub, "cgroup", bindFlags, h.options, IN | MountHow.MKDIR));
    } else {
      steps.push(mount(h.dir, sub, "", MS.BIND | MS.REC, "", IN | MountHow.MKDIR));
      steps.push(mount("", sub, "", MS.REMOUNT | MS.BIND | bindFlags, "", IN | MountHow.KEEP_LOCKED));
    }
    // "cpu" and "cpuacct" lead to "cpu,cpuacct", as on the host.
    for (const link of h.links) steps.push({ op: Op.SYMLINK, fields: [str(name), str(`${target}/${link}`)] });
  }
  if (flags & MS.RDONLY) steps.push(mount("", target, "", MS.REMOUNT | MS.BIND | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, "", IN | MountHow.KEEP_LOCKED));
  return steps;
}

/** Device nodes and /dev links, made after the config's mounts so a tmpfs /dev receives them. */
export function deviceSteps(inp: RootfsInput): Step[] {
  const steps: Step[] = [];
  const hostDev = devIsHostBind(inp.mounts);
  const wanted = new Map<string, SpecDevice>();
  if (!hostDev) for (const d of DEFAULT_DEVICES) wanted.set(d.path, d);
  for (const d of inp.devices) wanted.set(clean(d.path), d);
  for (const d of wanted.values()) {
    const path = clean(d.path);
    const tbits = TYPE_BITS[d.type];
    if (tbits === undefined) throw new MountError(`device ${d.path}: unknown type "${d.type}"`);
    if (d.type !== "p" && (d.major === undefined || d.minor === undefined))
      throw new MountError(`device ${d.path}: major and minor are required for type "${d.type}"`);
    const perm = (d.fileMode ?? 0o666) & ~S_IFMT;
    if (inp.userns) {
      // mknod is refused in a user namespace: bind the host's node instead.
      steps.push(mount(path, path, "", MS.BIND, "", MountHow.IN_ROOT | MountHow.MKFILE));
      continue;
    }
    steps.push({
      op: Op.MKNOD,
      fields: [u64(tbits | perm), { u64: makedev(d.major ?? 0, d.minor ?? 0) }, u64(d.uid ?? 0), u64(d.gid ?? 0), str(path)],
    });
  }
  if (!hostDev) {
    for (const [tgt, link] of DEV_LINKS) steps.push({ op: Op.SYMLINK, fields: [str(tgt), str(link)] });
    if (inp.terminal) {
      // /dev/console is the container's pty: an empty file here, the pty bound over it later.
      steps.push({ op: Op.MKNOD, fields: [u64(0o100000 | 0o666), u64(0), u64(0), u64(0), str("/dev/console")] });
    }
  }
  return steps;
}
