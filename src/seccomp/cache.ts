// Engines hand every container the same profile; compiling it with libseccomp costs
// 15-25 ms (multi-arch). The BPF is kept in the runtime's cache dir (outside every
// --root: see state/cachedir.ts), keyed by the profile, the libseccomp build and the
// kernel (which decides the flags), and reused.
import { createHash } from "node:crypto";
import { lstatSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileSeccomp, type CompiledSeccomp } from "./compile";
import { cacheDir } from "../state/cachedir";
import type { SeccompInput } from "./config";

const LIBSECCOMP = "/lib/x86_64-linux-gnu/libseccomp.so.2";
/** Changes whenever the compiler makes a different program from the same profile. */
const COMPILER = "2:enosys-stub";

interface Entry {
  c: Omit<CompiledSeccomp, "bpf"> & { bpf: string };
  warnings: string[];
}

function key(s: SeccompInput): string {
  let lib = "";
  try {
    const st = statSync(LIBSECCOMP);
    lib = `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch {}
  let kernel = "";
  try {
    kernel = readFileSync("/proc/sys/kernel/osrelease", "latin1").trim();
  } catch {}
  return createHash("sha256").update(JSON.stringify(s)).update("\0" + lib + "\0" + kernel + "\0" + COMPILER).digest("hex");
}

/** Only a file of ours that nobody else can write is trusted. */
function trusted(path: string): boolean {
  try {
    const st = lstatSync(path);
    return st.isFile() && st.uid === (process.geteuid?.() ?? 0) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/** Values past 2^53 are read exactly from the config text, not from this object: no key. */
function cacheable(s: SeccompInput): boolean {
  return (s.syscalls ?? []).every((sc) =>
    (sc.args ?? []).every((a) => Number.isSafeInteger(a.value) && (a.valueTwo === undefined || Number.isSafeInteger(a.valueTwo))),
  );
}

export function compileSeccompCached(s: SeccompInput, warn: (msg: string) => void): CompiledSeccomp {
  const top = cacheable(s) ? cacheDir() : undefined;
  if (!top) return compileSeccomp(s, warn);
  const dir = join(top, "seccomp");
  const file = join(dir, `${key(s)}.json`);
  if (trusted(file)) {
    try {
      const e = JSON.parse(readFileSync(file, "utf8")) as Entry;
      for (const w of e.warnings) warn(w);
      return { ...e.c, bpf: new Uint8Array(Buffer.from(e.c.bpf, "base64")) };
    } catch {
      // unreadable or from an older layout: compile afresh and replace it
    }
  }
  const warnings: string[] = [];
  const c = compileSeccomp(s, (m) => {
    warnings.push(m);
    warn(m);
  });
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}`;
    const entry: Entry = { c: { ...c, bpf: Buffer.from(c.bpf).toString("base64") }, warnings };
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, file);
  } catch {
    // a cache that cannot be written only costs the next create the compile
  }
  return c;
}
