// Reading a bundle's config.json: parse, check against the schema, check the
// rules the schema cannot express, and find the rootfs. create runs this for
// every container, so it does no work beyond that: the validator is
// precompiled and the happy path touches the disk twice (read, stat).

import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { semanticProblem } from "./check";
import { JsonSyntaxError, parseJson } from "./json";
import type { Spec } from "./types";
import { configProblem } from "./validate";

/** A config.json that cannot be used; the message is one line, ready to print. */
export class SpecError extends Error {
  override name = "SpecError";
}

export interface LoadOptions {
  /** Whether a process is required (create, run). Default true. */
  requireProcess?: boolean;
}

const CONFIG = "config.json";

/**
 * Loads and checks `<bundleDir>/config.json`. On success root.path is
 * absolute (a relative one is taken against the bundle, as runc does) and
 * names an existing directory.
 */
export function loadSpec(bundleDir: string, opts: LoadOptions = {}): Spec {
  const bundle = resolve(bundleDir);
  let text: string;
  try {
    text = readFileSync(`${bundle}/${CONFIG}`, "utf8");
  } catch (err) {
    throw readError(bundle, err as NodeJS.ErrnoException);
  }
  return parseSpec(text, bundle, opts);
}

/** As loadSpec, for config text already in hand. */
export function parseSpec(text: string, bundleDir: string, opts: LoadOptions = {}): Spec {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new SpecError(`${CONFIG}: ${err.message}`);
    throw err;
  }

  // Every later pass recurses: a hostile document must not exhaust the stack first.
  if (deeperThan(doc, MAX_NESTING)) throw new SpecError(`${CONFIG}: nested more than ${MAX_NESTING} levels deep`);
  dropNulls(doc);
  const schemaProblem = configProblem(doc);
  if (schemaProblem !== null) throw new SpecError(`${CONFIG}: ${schemaProblem}`);
  const spec = doc as Spec;

  const problem = semanticProblem(spec, { requireProcess: opts.requireProcess ?? true });
  if (problem !== null) throw new SpecError(`${CONFIG}: ${problem}`);

  // semanticProblem guarantees root is present.
  const root = spec.root!;
  root.path = resolve(bundleDir, root.path);
  checkRootfs(root.path);
  return spec;
}

/**
 * Why a process object (an `exec --process` file) breaks the schema, or null. Nulls are
 * dropped first, as for config.json.
 */
export function processProblem(doc: unknown): string | null {
  if (deeperThan(doc, MAX_NESTING)) return `nested more than ${MAX_NESTING} levels deep`;
  dropNulls(doc);
  const problem = configProblem({ ociVersion: "1.2.0", process: doc });
  return problem === null ? null : problem.replace(/^\/process(\/|: )?/, "");
}

// Real configs nest a dozen levels; this leaves room and stays far from the stack's limit.
const MAX_NESTING = 512;

function deeperThan(doc: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[doc, 0]];
  while (stack.length) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== "object" || node === null) continue;
    if (depth >= limit) return true;
    for (const v of Object.values(node)) if (typeof v === "object" && v !== null) stack.push([v, depth + 1]);
  }
  return false;
}

// Engines written in Go may marshal an empty field as null, and runc (Go's
// decoder) reads null as "absent"; the schema would reject it, so do as runc.
function dropNulls(node: unknown): void {
  if (typeof node !== "object" || node === null) return;
  if (Array.isArray(node)) {
    for (const item of node) dropNulls(item);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const value = obj[key];
    if (value === null) delete obj[key];
    else if (typeof value === "object") dropNulls(value);
  }
}

function checkRootfs(path: string): void {
  let st;
  try {
    st = statSync(path, { throwIfNoEntry: false });
  } catch (err) {
    throw new SpecError(`rootfs ${path}: ${errnoText(err as NodeJS.ErrnoException)}`);
  }
  if (!st) throw new SpecError(`rootfs ${path}: no such directory`);
  if (!st.isDirectory()) throw new SpecError(`rootfs ${path}: not a directory`);
}

function readError(bundle: string, err: NodeJS.ErrnoException): SpecError {
  if (err.code === "ENOENT") {
    const dir = statSync(bundle, { throwIfNoEntry: false });
    if (!dir) return new SpecError(`bundle ${bundle}: no such directory`);
    if (!dir.isDirectory()) return new SpecError(`bundle ${bundle}: not a directory`);
    return new SpecError(`${CONFIG}: missing`);
  }
  if (err.code === "ENOTDIR") return new SpecError(`bundle ${bundle}: not a directory`);
  if (err.code === "EISDIR") return new SpecError(`${CONFIG}: is a directory`);
  return new SpecError(`${CONFIG}: ${errnoText(err)}`);
}

const errnoTexts: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "file name too long",
  EIO: "input/output error",
};

function errnoText(err: NodeJS.ErrnoException): string {
  return (err.code && errnoTexts[err.code]) ?? err.message;
}
