// Mount option strings → mount(2) flags and data, decided here so the stub only calls mount.

export const MS = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  SYNCHRONOUS: 0x10,
  REMOUNT: 0x20,
  MANDLOCK: 0x40,
  DIRSYNC: 0x80,
  NOSYMFOLLOW: 0x100,
  NOATIME: 0x400,
  NODIRATIME: 0x800,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  SILENT: 0x8000,
  UNBINDABLE: 0x20000,
  PRIVATE: 0x40000,
  SLAVE: 0x80000,
  SHARED: 0x100000,
  RELATIME: 0x200000,
  STRICTATIME: 0x1000000,
  LAZYTIME: 0x2000000,
} as const;

/** [set, clear] pairs: "ro" sets RDONLY, "rw" clears it. */
const FLAGS: Record<string, [boolean, number]> = {
  ro: [true, MS.RDONLY],
  rw: [false, MS.RDONLY],
  nosuid: [true, MS.NOSUID],
  suid: [false, MS.NOSUID],
  nodev: [true, MS.NODEV],
  dev: [false, MS.NODEV],
  noexec: [true, MS.NOEXEC],
  exec: [false, MS.NOEXEC],
  sync: [true, MS.SYNCHRONOUS],
  async: [false, MS.SYNCHRONOUS],
  dirsync: [true, MS.DIRSYNC],
  remount: [true, MS.REMOUNT],
  mand: [true, MS.MANDLOCK],
  nomand: [false, MS.MANDLOCK],
  atime: [false, MS.NOATIME],
  noatime: [true, MS.NOATIME],
  diratime: [false, MS.NODIRATIME],
  nodiratime: [true, MS.NODIRATIME],
  relatime: [true, MS.RELATIME],
  norelatime: [false, MS.RELATIME],
  strictatime: [true, MS.STRICTATIME],
  nostrictatime: [false, MS.STRICTATIME],
  lazytime: [true, MS.LAZYTIME],
  nolazytime: [false, MS.LAZYTIME],
  symfollow: [false, MS.NOSYMFOLLOW],
  nosymfollow: [true, MS.NOSYMFOLLOW],
  // mount(8)'s "defaults" (rw, suid, dev, exec, async) is what no flag already means
  defaults: [false, 0],
  silent: [true, MS.SILENT],
  loud: [false, MS.SILENT],
};

const PROPAGATION: Record<string, number> = {
  shared: MS.SHARED,
  rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE,
  rslave: MS.SLAVE | MS.REC,
  private: MS.PRIVATE,
  rprivate: MS.PRIVATE | MS.REC,
  unbindable: MS.UNBINDABLE,
  runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount_setattr(2) MOUNT_ATTR_* bits. */
export const ATTR = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  /** the atime mode: a field of three values, cleared as one before any is set */
  ATIME: 0x70,
  RELATIME: 0x0,
  NOATIME: 0x10,
  STRICTATIME: 0x20,
  NODIRATIME: 0x80,
  NOSYMFOLLOW: 0x200000,
} as const;

/**
 * The recursive options (mount(8)'s "X-mount.*"-less names runc 1.1 introduced): applied
 * with mount_setattr(AT_RECURSIVE) to the whole tree at the destination, where plain
 * "ro" and friends reach only its top mount. [set, clear] in MOUNT_ATTR_* bits.
 */
const RECURSIVE: Record<string, [number, number]> = {
  rro: [ATTR.RDONLY, 0],
  rrw: [0, ATTR.RDONLY],
  rnosuid: [ATTR.NOSUID, 0],
  rsuid: [0, ATTR.NOSUID],
  rnodev: [ATTR.NODEV, 0],
  rdev: [0, ATTR.NODEV],
  rnoexec: [ATTR.NOEXEC, 0],
  rexec: [0, ATTR.NOEXEC],
  rnodiratime: [ATTR.NODIRATIME, 0],
  rdiratime: [0, ATTR.NODIRATIME],
  rrelatime: [ATTR.RELATIME, ATTR.ATIME],
  rnorelatime: [ATTR.RELATIME, ATTR.ATIME],
  rnoatime: [ATTR.NOATIME, ATTR.ATIME],
  ratime: [ATTR.RELATIME, ATTR.ATIME],
  rstrictatime: [ATTR.STRICTATIME, ATTR.ATIME],
  rnostrictatime: [ATTR.RELATIME, ATTR.ATIME],
  rnosymfollow: [ATTR.NOSYMFOLLOW, 0],
  rsymfollow: [0, ATTR.NOSYMFOLLOW],
};

/** Options the spec lists but this runtime cannot honour: refusing beats silently ignoring. */
const UNSUPPORTED = new Set(["idmap", "ridmap"]);
/** Accepted for compatibility with configs written for other runtimes; no effect here. */
const IGNORED = new Set(["tmpcopyup", "copy-symlink"]);

export interface ParsedOptions {
  flags: number;
  /** flags that were explicitly cleared, e.g. "rw" or "suid" */
  cleared: number;
  propagation: number[];
  data: string[];
  bind: boolean;
  recursive: boolean;
  /** MOUNT_ATTR_* bits the recursive options set and clear (both 0: none given) */
  attrSet: number;
  attrClr: number;
}

export function parseMountOptions(options: readonly string[] | undefined, where: string): ParsedOptions {
  const out: ParsedOptions = { flags: 0, cleared: 0, propagation: [], data: [], bind: false, recursive: false, attrSet: 0, attrClr: 0 };
  for (const o of options ?? []) {
    if (o === "bind") {
      out.bind = true;
      continue;
    }
    if (o === "rbind") {
      out.bind = true;
      out.recursive = true;
      continue;
    }
    const f = FLAGS[o];
    if (f) {
      if (f[0]) {
        out.flags |= f[1];
        out.cleared &= ~f[1];
      } else {
        out.flags &= ~f[1];
        out.cleared |= f[1];
      }
      continue;
    }
    const p = PROPAGATION[o];
    if (p !== undefined) {
      out.propagation.push(p);
      continue;
    }
    const r = RECURSIVE[o];
    if (r) {
      // The last word wins, as with the flags: an atime mode replaces the one before.
      out.attrSet = (out.attrSet & ~r[1] & ~r[0]) | r[0];
      out.attrClr = (out.attrClr & ~r[0]) | r[1];
      continue;
    }
    if (UNSUPPORTED.has(o)) throw new Error(`${where}: mount option "${o}" is not supported`);
    if (IGNORED.has(o)) continue;
    out.data.push(o);
  }
  return out;
}

/** All option names this runtime understands, for `features`. */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), ...Object.keys(RECURSIVE), "bind", "rbind", ...IGNORED].sort();
}
