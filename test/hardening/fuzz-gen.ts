// A seeded generator of invalid and hostile config.json files. Each case starts from a
// valid config and breaks it one way: a wrong type, an absurd number, deep nesting,
// unknown fields, "..", NUL bytes, thousands of mounts, huge args or env.
//
// What it never generates: configs that would act on the host if accepted (hooks,
// sysctls, a shared cgroupsPath, host namespace paths, a host directory as the rootfs):
// a runtime must obey those, since the config is trusted.
import type { Config } from "../lib/bundle";

/** mulberry32: small, seedable, good enough to pick mutations. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface FuzzCase {
  name: string;
  /** config.json text (may not be JSON at all) */
  text: string;
}

type Rand = () => number;
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

function nested(depth: number, leaf: unknown, asArray: boolean): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { a: v };
  return v;
}

/** Values of every JSON type, plus the awkward ones. */
function hostileValue(r: Rand): { label: string; value: unknown } {
  const values: [string, () => unknown][] = [
    ["null", () => null],
    ["true", () => true],
    ["zero", () => 0],
    ["negative", () => -1],
    ["huge int", () => 2 ** 64],
    ["max safe+1", () => 2 ** 53 + 1],
    ["1e308", () => 1e308],
    ["-1e308", () => -1e308],
    ["fraction", () => 0.5],
    ["empty string", () => ""],
    ["dotdot", () => "../../../../../../etc"],
    ["abs dotdot", () => "/../../../../../tmp"],
    ["nul string", () => "a\u0000b"],
    ["nul only", () => "\u0000"],
    ["newline", () => "a\nb"],
    ["unicode", () => "\u202e\ud83d\ude00\u00e9"],
    ["lone surrogate", () => "\ud800"],
    ["long string", () => "x".repeat(70_000)],
    ["empty array", () => []],
    ["array of null", () => [null]],
    ["array of numbers", () => [1, 2, 3]],
    ["empty object", () => ({})],
    ["object", () => ({ unknown: 1 })],
    ["deep object", () => nested(2000, 1, false)],
    ["deep array", () => nested(2000, 1, true)],
  ];
  const [label, make] = pick(r, values);
  return { label, value: make() };
}

/** Paths (as key lists) into the base config that mutations may replace. */
function paths(o: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (o === null || typeof o !== "object") return out;
  for (const [k, v] of Object.entries(o)) {
    const key = Array.isArray(o) ? Number(k) : k;
    const p = [...prefix, key];
    out.push(p);
    paths(v, p, out);
  }
  return out;
}

function setAt(o: any, p: (string | number)[], v: unknown): void {
  let cur = o;
  for (const k of p.slice(0, -1)) cur = cur[k];
  cur[p[p.length - 1]!] = v;
}

/** Keys whose hostile values could reach the host if a runtime accepted them. */
function unsafePath(p: (string | number)[]): boolean {
  const s = p.join(".");
  // root.path: "..", "/" or an empty string would make a host directory the rootfs.
  return /^linux\.(cgroupsPath|sysctl|namespaces\.\d+\.path)|^hooks|^root\.path$/.test(s);
}

const STRUCTURAL: [string, (c: Config, r: Rand) => void][] = [
  ["unknown top-level fields", (c) => Object.assign(c, { zzz: 1, "": { a: [] }, __proto__x: null })],
  ["unknown nested fields", (c) => {
    c.process.unknownThing = { deep: [1, 2] };
    c.linux.frobnicate = true;
    c.root.extra = "x";
  }],
  ["5000 mounts", (c) => {
    for (let i = 0; i < 5000; i++) c.mounts.push({ destination: `/m/${i}`, type: "tmpfs", source: "tmpfs", options: ["size=4k"] });
  }],
  ["5000 mounts to one place", (c) => {
    for (let i = 0; i < 5000; i++) c.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs" });
  }],
  ["very long args", (c) => (c.process.args = ["true", ...Array.from({ length: 2000 }, () => "a".repeat(1000))])],
  ["one huge arg", (c) => (c.process.args = ["true", "b".repeat(3_000_000)])],
  ["huge env", (c) => {
    for (let i = 0; i < 20_000; i++) c.process.env.push(`V${i}=${"v".repeat(100)}`);
  }],
  ["env without =", (c) => c.process.env.push("NOEQUALS", "=", "")],
  ["args empty", (c) => (c.process.args = [])],
  ["args with NUL", (c) => (c.process.args = ["tr\u0000ue"])],
  ["cwd relative", (c) => (c.process.cwd = "tmp")],
  ["cwd with dotdot", (c) => (c.process.cwd = "/../../../../tmp")],
  ["cwd with NUL", (c) => (c.process.cwd = "/tmp\u0000/x")],
  ["root.path dotdot to nowhere", (c) => (c.root.path = "../dxt-fuzz-none/../../dxt-fuzz-none2")],
  ["root.path NUL", (c) => (c.root.path = "root\u0000fs")],
  ["root.path empty", (c) => (c.root.path = "")],
  ["mount destination dotdot", (c) => c.mounts.push({ destination: "/../../../../tmp/dxt-fuzz", type: "tmpfs", source: "tmpfs" })],
  ["mount destination relative", (c) => c.mounts.push({ destination: "rel/dir", type: "tmpfs", source: "tmpfs" })],
  ["mount destination NUL", (c) => c.mounts.push({ destination: "/a\u0000b", type: "tmpfs", source: "tmpfs" })],
  ["mount destination empty", (c) => c.mounts.push({ destination: "", type: "tmpfs", source: "tmpfs" })],
  ["mount unknown fstype", (c) => c.mounts.push({ destination: "/x", type: "nosuchfs", source: "none" })],
  ["mount bind of missing source", (c) => c.mounts.push({ destination: "/x", type: "bind", source: "/nonexistent/dxt", options: ["bind"] })],
  ["mount options garbage", (c) => c.mounts.push({ destination: "/x", type: "tmpfs", source: "tmpfs", options: ["", ",", "size=-1", "mode=99999999", "\u0000"] })],
  ["mount options huge", (c) => c.mounts.push({ destination: "/x", type: "tmpfs", source: "tmpfs", options: Array.from({ length: 3000 }, (_, i) => `o${i}`) })],
  ["uid huge", (c) => (c.process.user.uid = 2 ** 32 + 5)],
  ["uid negative", (c) => (c.process.user.uid = -5)],
  ["additionalGids huge list", (c) => (c.process.user.additionalGids = Array.from({ length: 70_000 }, (_, i) => i))],
  ["rlimit absurd", (c) => c.process.rlimits.push({ type: "RLIMIT_NOFILE", hard: 2 ** 64, soft: 2 ** 63 })],
  ["rlimit unknown type", (c) => c.process.rlimits.push({ type: "RLIMIT_BOGUS", hard: 1, soft: 1 })],
  ["rlimit soft above hard", (c) => (c.process.rlimits = [{ type: "RLIMIT_NOFILE", hard: 10, soft: 1000 }])],
  ["caps unknown", (c) => c.process.capabilities.bounding.push("CAP_NOT_A_THING", "", "\u0000")],
  ["namespaces duplicated", (c) => c.linux.namespaces.push({ type: "pid" }, { type: "pid" })],
  ["namespace unknown", (c) => c.linux.namespaces.push({ type: "wormhole" })],
  ["memory limit absurd", (c) => (c.linux.resources.memory = { limit: 2 ** 70, swap: -7 })],
  ["memory limit tiny", (c) => (c.linux.resources.memory = { limit: 1 })],
  ["cpu shares absurd", (c) => (c.linux.resources.cpu = { shares: 2 ** 60, quota: -5, period: 0, cpus: "0-99999", mems: "x" })],
  ["pids limit zero", (c) => (c.linux.resources.pids = { limit: 0 })],
  ["device rule garbage", (c) => c.linux.resources.devices.push({ allow: true, type: "q", major: -1, minor: 2 ** 40, access: "rwxyz" })],
  ["devices node garbage", (c) => (c.linux.devices = [{ path: "/dev/../../../tmp/dxt-node", type: "c", major: 1, minor: 3 }])],
  ["devices node NUL", (c) => (c.linux.devices = [{ path: "/dev/nu\u0000ll", type: "c", major: 1, minor: 3 }])],
  ["maskedPaths dotdot", (c) => c.linux.maskedPaths.push("/../../../../etc/passwd", "relative", "")],
  ["readonlyPaths dotdot", (c) => c.linux.readonlyPaths.push("/../../../../etc", "\u0000")],
  ["hostname huge", (c) => (c.hostname = "h".repeat(5000))],
  ["hostname NUL", (c) => (c.hostname = "a\u0000b")],
  ["seccomp garbage", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_NOPE", syscalls: [{ names: ["nosuchcall"], action: "SCMP_ACT_ALLOW" }] })],
  ["seccomp huge", (c) => (c.linux.seccomp = { defaultAction: "SCMP_ACT_ALLOW", syscalls: Array.from({ length: 3000 }, (_, i) => ({ names: [`fake${i}`], action: "SCMP_ACT_ERRNO" })) })],
  ["ociVersion garbage", (c) => (c.ociVersion = "99.99.99-\u0000")],
  ["annotations huge", (c) => (c.annotations = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, "v".repeat(50)])))],
  ["process missing", (c) => delete c.process],
  ["root missing", (c) => delete c.root],
  ["linux missing", (c) => delete c.linux],
  ["everything null", (c) => {
    for (const k of Object.keys(c)) c[k] = null;
  }],
  ["umask absurd", (c) => (c.process.user.umask = 2 ** 40)],
  ["oomScoreAdj absurd", (c) => (c.process.oomScoreAdj = 99999)],
  ["consoleSize absurd", (c) => (c.process.consoleSize = { height: 2 ** 40, width: -1 })],
  ["idmappings without userns", (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: 2 ** 33, size: 2 ** 33 }])],
];

const RAW: [string, string][] = [
  ["empty file", ""],
  ["whitespace", "   \n\t  "],
  ["not json", "hello"],
  ["truncated", '{"ociVersion": "1.0.2", "process": {"args": ["tr'],
  ["number", "42"],
  ["string", '"config"'],
  ["null", "null"],
  ["array", "[{}]"],
  ["NUL bytes", '{"ociVersion":"1.0.2"\u0000}'],
  ["BOM", "\ufeff{}"],
  ["duplicate keys", '{"ociVersion":"1.0.2","ociVersion":7}'],
  ["deep nesting 100k", "[".repeat(100_000) + "]".repeat(100_000)],
  ["deep object nesting 50k", '{"a":'.repeat(50_000) + "1" + "}".repeat(50_000)],
  ["trailing garbage", '{"ociVersion":"1.0.2"} trailing'],
  ["invalid utf8", "{\"ociVersion\":\"\xff\xfe\"}"],
];

/**
 * `count` cases from `seed`: the raw and structural ones once each, the rest random
 * replacements of one value in the base config.
 */
export function fuzzCases(base: () => Config, seed: number, count: number): FuzzCase[] {
  const r = rng(seed);
  const out: FuzzCase[] = [];
  for (const [name, text] of RAW) out.push({ name: `raw: ${name}`, text });
  for (const [name, mutate] of STRUCTURAL) {
    const c = base();
    mutate(c, r);
    out.push({ name: `structural: ${name}`, text: JSON.stringify(c) });
  }
  const all = paths(base()).filter((p) => !unsafePath(p));
  while (out.length < count) {
    const c = base();
    const n = 1 + Math.floor(r() * 3);
    const labels: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = pick(r, all);
      const { label, value } = hostileValue(r);
      try {
        setAt(c, p, value);
      } catch {
        continue;
      }
      labels.push(`${p.join(".")}=${label}`);
    }
    out.push({ name: `random #${out.length}: ${labels.join(", ")}`, text: JSON.stringify(c) });
  }
  return out.slice(0, count);
}

/** Hostile `exec --process` files: the same mutations, applied to a process object. */
export function fuzzProcessCases(base: () => Config, seed: number, count: number): FuzzCase[] {
  const r = rng(seed);
  const out: FuzzCase[] = RAW.map(([name, text]) => ({ name: `raw: ${name}`, text }));
  const all = paths(base());
  while (out.length < count) {
    const p = base();
    const { label, value } = hostileValue(r);
    const at = pick(r, all);
    try {
      setAt(p, at, value);
    } catch {
      continue;
    }
    out.push({ name: `random #${out.length}: ${at.join(".")}=${label}`, text: JSON.stringify(p) });
  }
  return out.slice(0, count);
}
