// The state directory of one container: state.json (written atomically), the exec fifo,
// and a flock on the directory itself held by every command that changes the container.
// node:fs is loaded on first use (native/nodefs.ts): every command makes a Store, and
// the ones that only read a state file (state, kill) get by without it.
import { LOCK_EX, O_CLOEXEC, O_RDONLY, close, flock, openFd } from "../native/libc";
import { RuntimeError } from "../errors";
import { allChars, isWordChar } from "../chars";
import { nodeFs as fs, nodeRemover, type Remover } from "../native/nodefs";

export const DEFAULT_ROOT = "/run/dx-runtime";

/** The runtime-spec version the state this runtime writes complies with. */
export const OCI_VERSION = "1.2.0";

/** What the runtime keeps between commands. The spec's state plus what later commands need. */
export interface StoredState {
  ociVersion: string;
  id: string;
  /** Only a hint: the live status is derived from the process (see status.ts). */
  status: "creating" | "created" | "running" | "stopped" | "paused";
  pid: number;
  bundle: string;
  annotations?: Record<string, string>;
  /** field 22 of /proc/PID/stat of the init when it was created */
  startTime: number;
  /** pid and start time of the `create` that is still setting the container up */
  creator?: { pid: number; startTime: number };
  created: string;
  rootfs: string;
  owner: string;
  /** `shared`: the cgroup held other processes at create, which are not the container's */
  cgroup?: { version: 1 | 2; paths: Record<string, string>; shared?: boolean };
  /** the bundle's config at create, so later commands don't depend on the bundle staying put */
  config: unknown;
  /** namespaces of the init, by type, for exec and for joins; absent types are the host's */
  namespaces?: Record<string, string>;
  systemdCgroup?: boolean;
  /** set only when start could not remove the exec fifo, whose absence otherwise says it */
  started?: boolean;
}

/** [A-Za-z0-9_+.-] */
const isIdChar = (c: number): boolean => isWordChar(c) || c === 43 || c === 45 || c === 46;

/**
 * Whether a state file is one this runtime wrote: runc's (init_process_pid,
 * init_process_start) has neither a string ociVersion nor a numeric startTime.
 */
export function ownState(st: unknown): st is StoredState {
  const o = st as StoredState | null;
  return !!o && typeof o === "object" && typeof o.ociVersion === "string" && typeof o.startTime === "number" && typeof o.pid === "number";
}

export function validateId(id: string | undefined): string {
  if (!id) throw new RuntimeError("container id cannot be empty");
  // As runc: [\w+.-]+, but never "." or "..", which name no dir of their own.
  if (!allChars(id, isIdChar) || id === "." || id === ".." || id.length > 1024)
    throw new RuntimeError(`invalid container id format: ${id}`);
  return id;
}

/**
 * Whether anything is at a path, asked through Bun.mmap, which the state read loads
 * anyway: delete asks it of every container, and engines delete each one twice (the
 * second time gone), so it must not load node:fs. Opening for the mapping fails with
 * ENOENT only when nothing is there; a directory answers EISDIR, an empty file EINVAL.
 */
function present(path: string): boolean {
  try {
    Bun.mmap(path, { shared: false });
    return true;
  } catch (e: any) {
    if (e?.code === "ENOENT" || e?.code === "ENOTDIR") return false;
    if (e?.code === "EISDIR" || e?.code === "EINVAL") return true;
    return fs().existsSync(path);
  }
}

export class Store {
  readonly root: string;
  /** `rootMode`: the mode --root is made with (and set to) when create makes it */
  constructor(root: string, private readonly rootMode?: number) {
    let end = root.length;
    while (end > 1 && root.charCodeAt(end - 1) === 47) end--;
    this.root = root.slice(0, end);
  }

  dir(id: string): string {
    return `${this.root}/${id}`;
  }
  fifo(id: string): string {
    return `${this.root}/${id}/exec.fifo`;
  }

  /** Claims the id: mkdir is atomic, so of many concurrent creates exactly one wins. */
  claim(id: string): void {
    try {
      fs().mkdirSync(this.root, { recursive: true, mode: (this.rootMode ?? 0o711) & 0o777 });
      // Under $XDG_RUNTIME_DIR the sticky bit keeps the session's cleanup off the state.
      if (this.rootMode !== undefined) fs().chmodSync(this.root, this.rootMode);
    } catch (e: any) {
      throw new RuntimeError(`create state dir ${this.root}: ${e.code === "EACCES" ? "permission denied (not root: set XDG_RUNTIME_DIR or --root)" : e.message}`);
    }
    try {
      fs().mkdirSync(this.dir(id), { mode: 0o711 });
    } catch (e: any) {
      if (e.code === "EEXIST") throw new RuntimeError(`container with id ${id} already exists`);
      throw new RuntimeError(`create state dir ${this.dir(id)}: ${e.message}`);
    }
  }

  exists(id: string): boolean {
    return present(this.dir(id));
  }

  read(id: string): StoredState {
    const file = `${this.dir(id)}/state.json`;
    let text: string;
    try {
      // Bun's one synchronous read that needs no node:fs. The file is only ever replaced
      // by rename, never rewritten, so the mapping cannot change under us.
      text = new TextDecoder().decode(Bun.mmap(file, { shared: false }));
    } catch (e: any) {
      // An empty file cannot be mapped: it is corrupt, like any text that does not parse.
      if (e.code === "EINVAL") text = "";
      // A dir without state (a create that died before writing any, ours or another
      // runtime's) is no container, as it is to runc; delete removes it (unwritten()).
      else if (e.code === "ENOENT") throw new RuntimeError(`container ${id} does not exist`);
      else throw new RuntimeError(`read state of ${id}: ${e.message}`);
    }
    let st: StoredState;
    try {
      st = JSON.parse(text) as StoredState;
    } catch {
      // A torn write cannot happen (rename is atomic); a corrupt file is reported as such.
      throw new RuntimeError(`state of ${id} is corrupt: ${file}`);
    }
    // Engines give runc-type runtimes one --root (dockerd does): runc's state.json is
    // another runtime's container, not a stopped one of ours.
    if (!ownState(st)) throw new RuntimeError(`container ${id} does not exist (${file} was not written by dx-runtime)`);
    return st;
  }

  /**
   * A state dir with no state file: what a create leaves when it dies between claiming
   * the id and writing the first state (no process or cgroup exists yet then). Removed by
   * delete, as runc removes such a dir; anything else is left alone.
   */
  unwritten(id: string): boolean {
    return this.exists(id) && !present(`${this.dir(id)}/state.json`);
  }

  write(st: StoredState): void {
    const dir = this.dir(st.id);
    const tmp = `${dir}/.state.json.${process.pid}`;
    fs().writeFileSync(tmp, JSON.stringify(st), { mode: 0o600 });
    fs().renameSync(tmp, `${dir}/state.json`);
  }

  /** `rm`: how files go; delete of a stopped container removes without node:fs. */
  remove(id: string, rm: Remover = nodeRemover): void {
    const dir = this.dir(id);
    // The dir holds the state and, if start never took it, the exec fifo: two unlinks
    // and an rmdir. Anything else (a temp state a create left, something unexpected)
    // makes the rmdir fail, and a recursive removal takes it all.
    rm.unlink(`${dir}/state.json`);
    rm.unlink(`${dir}/exec.fifo`);
    const code = rm.rmdir(dir);
    if (code && code !== "ENOENT") fs().rmSync(dir, { recursive: true, force: true });
  }

  list(): string[] {
    try {
      return fs().readdirSync(this.root, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  /** Exclusive lock on the container dir until fn has finished. */
  async withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const release = this.lock(id);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  /** Takes the lock and keeps it until the returned release is called. */
  lock(id: string): () => void {
    let fd: number;
    try {
      fd = openFd(this.dir(id), O_RDONLY | O_CLOEXEC | 0o200000 /* O_DIRECTORY */);
    } catch {
      throw new RuntimeError(`container ${id} does not exist`);
    }
    try {
      flock(fd, LOCK_EX);
    } catch (e) {
      close(fd);
      throw e;
    }
    return () => close(fd);
  }
}
