// node:fs, loaded on first use: state, start and kill never need it, and delete of a
// stopped container gets by without it (see ffi.ts); loading it costs a process ~140
// page faults. Removal goes through a Remover, so delete can take bun:ffi's instead.

let mod: typeof import("node:fs") | undefined;

export function nodeFs(): typeof import("node:fs") {
  return (mod ??= require("node:fs") as typeof import("node:fs"));
}

/** Each call's result is the errno's name, or undefined on success. */
export interface Remover {
  rmdir(path: string): string | undefined;
  unlink(path: string): string | undefined;
}

function codeOf(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "EIO";
}

export const nodeRemover: Remover = {
  rmdir(path) {
    try {
      nodeFs().rmdirSync(path);
    } catch (e) {
      return codeOf(e);
    }
  },
  unlink(path) {
    try {
      nodeFs().unlinkSync(path);
    } catch (e) {
      return codeOf(e);
    }
  },
};
