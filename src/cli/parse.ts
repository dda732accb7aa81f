// Argument parsing in runc's shape: global flags before the command, the command's own
// flags after it. Go's flag parsing takes -flag and --flag alike, so both are accepted.
import type minimist from "minimist";
import type { RuntimeOptions } from "../context";
import { RuntimeError } from "../errors";
import { allChars, isWordChar } from "../chars";

export interface FlagSpec {
  string?: string[];
  boolean?: string[];
  alias?: Record<string, string>;
  default?: Record<string, unknown>;
  /**
   * Flags end at the first positional argument, as Go's flag package does: for exec,
   * everything after the container id is the command, so `exec ID sh -c x` keeps its -c.
   */
  stopAtFirstArg?: boolean;
}

/** Index of the first positional argument (skipping flags and the values of string flags). */
function firstArg(argv: string[], spec: FlagSpec): number {
  const takesValue = new Set(spec.string ?? []);
  for (const [k, v] of Object.entries(spec.alias ?? {})) if (takesValue.has(v)) takesValue.add(k);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") return i;
    if (!a.startsWith("-") || a === "-") return i;
    if (a.includes("=")) continue;
    if (takesValue.has(a.replace(/^--?/, ""))) i++;
  }
  return argv.length;
}

/** Flags that take a value, by every name they go by, mapped to their long name. */
function valueFlags(spec: FlagSpec): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of spec.string ?? []) m.set(n, n);
  for (const [k, v] of Object.entries(spec.alias ?? {})) if (m.has(v)) m.set(k, v);
  return m;
}

function normalise(argv: string[], known: Set<string>, values: Map<string, string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      out.push(...argv.slice(i));
      break;
    }
    // Go's flag package gives a flag that takes a value the next argument, whatever it
    // looks like: "--memory-swap -1" is -1, where minimist would read a flag "-1".
    const named = /^--?([\w-]+)$/.exec(a);
    const long = named ? values.get(named[1]!) : undefined;
    if (long !== undefined && i + 1 < argv.length) {
      out.push(`--${long}=${argv[++i]}`);
      continue;
    }
    // minimist reads "--no-x" as x=false; runc's --no-pivot and friends are flags of their own.
    const neg = /^--?(no-[\w-]+)$/.exec(a);
    if (neg && known.has(neg[1]!)) {
      out.push(`--${neg[1]}=true`);
      continue;
    }
    // "-bundle" → "--bundle" (a single-letter "-b" stays short)
    if (/^-[a-zA-Z][\w-]+(=.*)?$/.test(a)) {
      const name = a.slice(1).split("=")[0]!;
      if (known.has(name)) {
        out.push("-" + a);
        continue;
      }
    }
    out.push(a);
  }
  return out;
}

export function parseFlags(cmd: string, argv: string[], spec: FlagSpec): minimist.ParsedArgs {
  // Nothing that looks like a flag, nothing to parse: what engines send most (`state ID`,
  // `start ID`, `kill ID SIG`). A first minimist call costs ~0.3 ms of a 6 ms command, and
  // minimist itself is loaded only past this point. A plain loop: the first call of a
  // builtin written in JS (some, map, a spread) compiles it, ~0.05-0.1 ms each.
  if (!hasFlag(argv)) return Object.assign({}, spec.default, { _: argv.slice(), "--": [] }) as minimist.ParsedArgs;
  const plain = plainBooleans(argv, spec);
  if (plain) return plain;
  const known = new Set<string>([...(spec.string ?? []), ...(spec.boolean ?? []), ...Object.keys(spec.alias ?? {}), "help"]);
  for (const v of Object.values(spec.alias ?? {})) known.add(v);
  const unknown: string[] = [];
  let tail: string[] = [];
  if (spec.stopAtFirstArg) {
    const at = firstArg(argv, spec);
    tail = argv.slice(at);
    argv = argv.slice(0, at);
    if (tail[0] === "--") tail = tail.slice(1);
    // "ID -- cmd": the separator after the first argument was always accepted.
    if (tail[1] === "--") tail.splice(1, 1);
  }
  const parse = require("minimist") as typeof minimist;
  const parsed = parse(normalise(argv, known, valueFlags(spec)), {
    // "_": positional arguments stay strings; minimist would read the id "007" as 7.
    string: [...(spec.string ?? []), "_"],
    boolean: [...(spec.boolean ?? []), "help"],
    alias: { h: "help", ...(spec.alias ?? {}) },
    default: spec.default as any,
    "--": true,
    unknown: (a) => {
      if (a.startsWith("-") && a !== "-") {
        unknown.push(a);
        return false;
      }
      return true;
    },
  });
  if (unknown.length) throw new RuntimeError(`${cmd}: flag provided but not defined: ${unknown[0]!.split("=")[0]}`);
  parsed._.push(...tail);
  return parsed;
}

/**
 * containerd's shim sends `kill --all ID SIG` and `delete --force ID` with every
 * StopContainer: boolean flags spelled out in full, nothing else. Those need no minimist.
 */
function plainBooleans(argv: string[], spec: FlagSpec): minimist.ParsedArgs | undefined {
  if (spec.stopAtFirstArg || !spec.boolean) return undefined;
  const out: Record<string, unknown> = Object.assign({}, spec.default, { _: [] as string[], "--": [] });
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-")) {
      (out._ as string[]).push(a);
      continue;
    }
    const name = a.slice(2);
    if (!a.startsWith("--") || spec.boolean.indexOf(name) < 0) return undefined;
    out[name] = true;
    for (const k in spec.alias ?? {}) if (spec.alias![k] === name) out[k] = true;
  }
  return out as minimist.ParsedArgs;
}

function hasFlag(argv: string[]): boolean {
  for (let i = 0; i < argv.length; i++) if (argv[i]!.startsWith("-")) return true;
  return false;
}

/** [A-Za-z0-9_-]+, as Go's flag names are written. */
function isFlagName(s: string): boolean {
  return !!s && allChars(s, (c) => isWordChar(c) || c === 45);
}

export interface Globals extends RuntimeOptions {
  root: string;
  log?: string;
  logFormat: "text" | "json";
  debug: boolean;
  help: boolean;
  version: boolean;
}

const GLOBAL_STRING = new Set(["root", "log", "log-format", "criu", "rootless"]);
const GLOBAL_BOOL = new Set(["debug", "systemd-cgroup", "help", "version", "h", "v", "no-subreaper"]);

/** Splits argv into globals, the command name and the command's own arguments. */
export function parseGlobals(argv: string[], defaultRoot: string): { g: Globals; cmd?: string; rest: string[] } {
  const g: Globals = { root: defaultRoot, logFormat: "text", debug: false, systemdCgroup: false, help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("-") || a === "-") break;
    const body = a.slice(a.startsWith("--") ? 2 : 1);
    const eq = body.indexOf("=");
    const name = eq < 0 ? body : body.slice(0, eq);
    const value = eq < 0 ? undefined : body.slice(eq + 1);
    if (!isFlagName(name)) throw new RuntimeError(`flag provided but not defined: ${a}`);
    if (GLOBAL_STRING.has(name)) {
      const v = value ?? argv[++i];
      if (v === undefined) throw new RuntimeError(`flag needs an argument: --${name}`);
      if (name === "root") g.root = v;
      else if (name === "log") g.log = v;
      else if (name === "rootless") g.rootless = v;
      else if (name === "criu") g.criu = v;
      else if (name === "log-format") {
        if (v !== "text" && v !== "json") throw new RuntimeError(`invalid log-format: ${v}`);
        g.logFormat = v;
      }
    } else if (GLOBAL_BOOL.has(name)) {
      const on = value === undefined ? true : value !== "false";
      if (name === "debug") g.debug = on;
      else if (name === "systemd-cgroup") g.systemdCgroup = on;
      else if (name === "help" || name === "h") g.help = on;
      else if (name === "version" || name === "v") g.version = on;
    } else throw new RuntimeError(`flag provided but not defined: -${name}`);
  }
  return { g, cmd: argv[i], rest: argv.slice(i + 1) };
}

/** The positional arguments, as strings (a loop: see parseFlags). */
export function positionals(args: minimist.ParsedArgs): string[] {
  const out: string[] = [];
  for (let i = 0; i < args._.length; i++) out.push(String(args._[i]));
  return out;
}

export function oneId(cmd: string, args: minimist.ParsedArgs): string {
  const ids = positionals(args);
  if (ids.length !== 1) throw new RuntimeError(`${cmd}: requires exactly 1 argument (the container id), got ${ids.length}`);
  return ids[0]!;
}
