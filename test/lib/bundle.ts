// Fresh OCI bundles: a private copy of the busybox rootfs plus a config.json that
// starts from the same defaults `runc spec` writes (without a terminal).
import fs from "node:fs";
import path from "node:path";
import { spawnSync } from "node:child_process";
import { rootfsDir } from "./rootfs";
import { currentSuite } from "./runtime";
import { defaultSpec } from "../../src/spec/default";

// The config is handled as plain JSON: tests deliberately write invalid and unknown fields.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Config = Record<string, any>;

export const DEFAULT_CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/** `runc spec`'s document (which `dx-runtime spec` writes), made non-interactive. */
export function defaultConfig(args: string[] = ["sh"]): Config {
  const c = defaultSpec() as Config;
  c.process.terminal = false;
  c.process.args = args;
  c.hostname = "dxt";
  return c;
}

export interface BundleOptions {
  /** process.args; default ["sh"]. */
  args?: string[];
  /** Change the config before it is written. */
  patch?: (c: Config) => void;
  /** Write this text as config.json instead of the JSON of the config (for malformed input). */
  rawConfig?: string;
  /** Skip copying the rootfs. */
  noRootfs?: boolean;
}

export interface Bundle {
  dir: string;
  rootfs: string;
  config: Config;
  /** Rewrites config.json from `config`. */
  write(): void;
  /** Writes a file inside the rootfs (parents created). */
  file(rel: string, content: string, mode?: number): string;
  /**
   * Creates a host dir next to the rootfs and bind-mounts it read-write at `dest` in the
   * container: the way tests get files out of a read-only root.
   */
  hostDir(dest: string, name?: string): string;
}

let bundleSeq = 0;
const bundleListeners: ((dir: string) => void)[] = [];

export function onNewBundle(fn: (dir: string) => void): void {
  bundleListeners.push(fn);
}

/** A unique directory under the suite, registered with the leak checker. */
export function scratchDir(tag = "d"): string {
  const dir = path.join(currentSuite().bundles, `${tag}${++bundleSeq}`);
  fs.mkdirSync(dir, { recursive: true });
  for (const fn of bundleListeners) fn(dir);
  return dir;
}

export function makeBundle(opts: BundleOptions = {}): Bundle {
  const dir = scratchDir("b");
  const rootfs = path.join(dir, "rootfs");
  if (!opts.noRootfs) {
    const r = spawnSync("cp", ["-a", rootfsDir(), rootfs], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`cp -a rootfs: ${r.stderr}`);
  }
  const config = defaultConfig(opts.args ?? ["sh"]);
  const b: Bundle = {
    dir,
    rootfs,
    config,
    write() {
      fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(b.config, null, 2));
    },
    file(rel, content, mode = 0o644) {
      const p = path.join(rootfs, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, content);
      fs.chmodSync(p, mode);
      return p;
    },
    hostDir(dest, name) {
      const host = path.join(dir, name ?? `host${dest.replace(/\//g, "_")}`);
      fs.mkdirSync(host, { recursive: true, mode: 0o777 });
      fs.chmodSync(host, 0o777);
      b.config.mounts.push({ destination: dest, type: "bind", source: host, options: ["rbind", "rw"] });
      b.write();
      return host;
    },
  };
  opts.patch?.(config);
  if (opts.rawConfig !== undefined) fs.writeFileSync(path.join(dir, "config.json"), opts.rawConfig);
  else b.write();
  return b;
}

/** Removes a namespace type from the config. */
export function dropNamespace(c: Config, type: string): void {
  c.linux.namespaces = c.linux.namespaces.filter((n: { type: string }) => n.type !== type);
}

/** Adds (or replaces) a namespace entry. */
export function setNamespace(c: Config, type: string, nsPath?: string): void {
  dropNamespace(c, type);
  c.linux.namespaces.push(nsPath ? { type, path: nsPath } : { type });
}

/** All capabilities in all five sets: for tests that need a privileged container. */
export function allCaps(c: Config, caps: string[]): void {
  c.process.capabilities = {
    bounding: [...caps],
    effective: [...caps],
    permitted: [...caps],
    inheritable: [...caps],
    ambient: [...caps],
  };
}
