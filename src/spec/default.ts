// The config.json that `dx-runtime spec` writes: the same document as
// `runc spec` (field for field, in the same order), so that bundles and
// scripts made for runc work unchanged.

import type { LinuxNamespace, Mount, Spec } from "./types";

/** The ociVersion written by `spec`; runc 1.1 writes the same. */
export const DEFAULT_SPEC_VERSION = "1.0.2-dev";

export interface DefaultSpecOptions {
  /**
   * Make a spec for an unprivileged user, as `runc spec --rootless`: a user
   * namespace mapping container root to this uid/gid (pass the caller's
   * effective ids), no network namespace, /sys bind-mounted, no device cgroup.
   */
  rootless?: { uid: number; gid: number };
}

const CAPS = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

export function defaultSpec(opts: DefaultSpecOptions = {}): Spec {
  const rootless = opts.rootless;
  const namespaces: LinuxNamespace[] = rootless
    ? [{ type: "pid" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }, { type: "user" }]
    : [{ type: "pid" }, { type: "network" }, { type: "ipc" }, { type: "uts" }, { type: "mount" }];

  const spec: Spec = {
    ociVersion: DEFAULT_SPEC_VERSION,
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ["sh"],
      env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
      cwd: "/",
      capabilities: {
        bounding: [...CAPS],
        effective: [...CAPS],
        permitted: [...CAPS],
        ambient: [...CAPS],
      },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: "rootfs", readonly: true },
    hostname: "runc",
    mounts: defaultMounts(rootless !== undefined),
    linux: rootless
      ? {
          uidMappings: [{ containerID: 0, hostID: rootless.uid, size: 1 }],
          gidMappings: [{ containerID: 0, hostID: rootless.gid, size: 1 }],
          namespaces,
          maskedPaths: maskedPaths(),
          readonlyPaths: readonlyPaths(),
        }
      : {
          resources: { devices: [{ allow: false, access: "rwm" }] },
          namespaces,
          maskedPaths: maskedPaths(),
          readonlyPaths: readonlyPaths(),
        },
  };
  return spec;
}

function defaultMounts(rootless: boolean): Mount[] {
  // Without a mapped tty group (gid 5) in the user namespace, devpts refuses gid=5.
  const ptsOptions = ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"];
  if (!rootless) ptsOptions.push("gid=5");
  // An unprivileged user may not mount a fresh sysfs without its own network namespace.
  const sys: Mount = rootless
    ? { destination: "/sys", type: "none", source: "/sys", options: ["rbind", "nosuid", "noexec", "nodev", "ro"] }
    : { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] };
  return [
    { destination: "/proc", type: "proc", source: "proc" },
    { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
    { destination: "/dev/pts", type: "devpts", source: "devpts", options: ptsOptions },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    sys,
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

function maskedPaths(): string[] {
  return [
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/sys/firmware",
    "/proc/scsi",
  ];
}

function readonlyPaths(): string[] {
  return ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"];
}

/** The text `spec` writes: tab-indented like runc's, without a trailing newline. */
export function renderSpec(spec: Spec): string {
  return JSON.stringify(spec, null, "\t");
}
