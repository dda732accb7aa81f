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

/** Options the spec lists but this runtime cannot honour: refusing beats silently ignoring. */
const UNSUPPORTED = new Set(["idmap", "ridmap"]);
/** Accepted for compatibility with configs written for other runtimes; no effect here. */
const IGNORED = new Set(["tmpcopyup", "rro", "copy-symlink"]);

export interface ParsedOptions {
  flags: number;
  /** flags that were explicitly cleared, e.g. "rw" or "suid" */
  cleared: number;
  propagation: number[];
  data: string[];
  bind: boolean;
  recursive: boolean;
}

export function parseMountOptions(options: readonly string[] | undefined, where: string): ParsedOptions {
  const out: ParsedOptions = { flags: 0, cleared: 0, propagation: [], data: [], bind: false, recursive: false };
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
    if (UNSUPPORTED.has(o)) throw new Error(`${where}: mount option "${o}" is not supported`);
    if (IGNORED.has(o)) continue;
    out.data.push(o);
  }
  return out;
}

/** All option names this runtime understands, for `features`. */
export function knownMountOptions(): string[] {
  return [...Object.keys(FLAGS), ...Object.keys(PROPAGATION), "bind", "rbind", ...IGNORED].sort();
}
