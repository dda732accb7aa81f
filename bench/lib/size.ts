// Installed size of each runtime: the binary, plus the shared libraries it pulls in
// beyond glibc (which every system has anyway).
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";

export interface SizeInfo {
  binaryBytes: number;
  sharedLibs: { path: string; bytes: number }[];
  /** dx-runtime only: what the compiled binary is made of */
  parts?: { name: string; bytes: number }[];
}

const GLIBC = /\/(ld-linux[^/]*|libc|libm|libpthread|libdl|librt|libresolv)\.so/;

export function sizeOf(bin: string): SizeInfo {
  const binaryBytes = statSync(bin).size;
  const r = Bun.spawnSync(["ldd", bin], { stdout: "pipe", stderr: "pipe" });
  const sharedLibs: { path: string; bytes: number }[] = [];
  if (r.exitCode === 0) {
    for (const m of r.stdout.toString().matchAll(/=>\s+(\/\S+)/g)) {
      const path = m[1]!;
      if (GLIBC.test(path) || !existsSync(path)) continue;
      sharedLibs.push({ path, bytes: statSync(path).size });
    }
  }
  return { binaryBytes, sharedLibs };
}

/** The compiled binary is the Bun executable with the app and its assets appended. */
export function dxParts(repo: string, total: number): { name: string; bytes: number }[] {
  const size = (p: string) => (existsSync(p) ? statSync(p).size : 0);
  const bun = size(join(repo, "node_modules/@oven/bun-linux-x64/bin/bun"));
  const stub = size(join(repo, "native/build/dx-init"));
  // koffi's package index names a prebuilt addon per platform in literal require() calls,
  // and the bundler embeds each one it sees; requiring the linux x64 addon directly embeds
  // one. Which case applies shows in what is left after the Bun executable and the stub.
  const koffiDir = join(repo, "node_modules/koffi/build/koffi");
  const one = size(join(koffiDir, "linux_x64/koffi.node"));
  const r = Bun.spawnSync(["sh", "-c", `du -cb ${koffiDir}/*/koffi.node | tail -1`], { stdout: "pipe" });
  const all = Number(r.stdout.toString().split(/\s/)[0]) || 0;
  const left = total - bun - stub;
  const koffi = left > all ? { name: "koffi.node, every platform's prebuild", bytes: all } : { name: "koffi.node (linux x64)", bytes: one };
  const parts = [
    { name: "bun executable", bytes: bun },
    koffi,
    { name: "dx-init stub (embedded)", bytes: stub },
  ];
  parts.push({ name: "bundled JS + bytecode + schemas", bytes: Math.max(0, left - koffi.bytes) });
  return parts;
}
