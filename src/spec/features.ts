// The document `dx-runtime features` prints (runtime-spec features.md): what
// this runtime recognizes, independent of what the host offers. It is a pure
// function of a few facts the caller knows or probes (libseccomp, kernel
// seccomp flags), so it can be tested without them.

import { CAPABILITIES } from "./capabilities";
import {
  HOOK_NAMES,
  type Features,
  type LinuxNamespaceType,
  type LinuxSeccompAction,
  type LinuxSeccompArch,
  type LinuxSeccompFlag,
  type LinuxSeccompOperator,
} from "./types";

/** The oldest config.json version accepted. */
export const OCI_VERSION_MIN = "1.0.0";
/** The newest runtime-spec release whose schemas config.json is checked against (schemas/). */
export const OCI_VERSION_MAX = "1.3.0";

export const NAMESPACE_TYPES: readonly LinuxNamespaceType[] = [
  "cgroup",
  "ipc",
  "mount",
  "network",
  "pid",
  "time",
  "user",
  "uts",
];

/** Generic mount options (flags and propagation), not the filesystem-specific data. */
export const MOUNT_OPTIONS: readonly string[] = [
  "acl",
  "async",
  "atime",
  "bind",
  "defaults",
  "dev",
  "diratime",
  "dirsync",
  "exec",
  "iversion",
  "lazytime",
  "loud",
  "mand",
  "noacl",
  "noatime",
  "nodev",
  "nodiratime",
  "noexec",
  "noiversion",
  "nolazytime",
  "nomand",
  "norelatime",
  "nostrictatime",
  "nosuid",
  "nosymfollow",
  "private",
  "ratime",
  "rbind",
  "rdev",
  "rdiratime",
  "relatime",
  "remount",
  "rexec",
  "rnoatime",
  "rnodev",
  "rnodiratime",
  "rnoexec",
  "rnorelatime",
  "rnostrictatime",
  "rnosuid",
  "rnosymfollow",
  "ro",
  "rprivate",
  "rrelatime",
  "rro",
  "rrw",
  "rshared",
  "rslave",
  "rstrictatime",
  "rsuid",
  "rsymfollow",
  "runbindable",
  "rw",
  "shared",
  "silent",
  "slave",
  "strictatime",
  "suid",
  "symfollow",
  "sync",
  "tmpcopyup",
  "unbindable",
];

export const SECCOMP_ACTIONS: readonly LinuxSeccompAction[] = [
  "SCMP_ACT_ALLOW",
  "SCMP_ACT_ERRNO",
  "SCMP_ACT_KILL",
  "SCMP_ACT_KILL_PROCESS",
  "SCMP_ACT_KILL_THREAD",
  "SCMP_ACT_LOG",
  "SCMP_ACT_NOTIFY",
  "SCMP_ACT_TRACE",
  "SCMP_ACT_TRAP",
];

export const SECCOMP_OPERATORS: readonly LinuxSeccompOperator[] = [
  "SCMP_CMP_EQ",
  "SCMP_CMP_GE",
  "SCMP_CMP_GT",
  "SCMP_CMP_LE",
  "SCMP_CMP_LT",
  "SCMP_CMP_MASKED_EQ",
  "SCMP_CMP_NE",
];

/** Architectures libseccomp 2.5 can name (Debian 12 ships 2.5.4). */
export const SECCOMP_ARCHS: readonly LinuxSeccompArch[] = [
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_ARM",
  "SCMP_ARCH_MIPS",
  "SCMP_ARCH_MIPS64",
  "SCMP_ARCH_MIPS64N32",
  "SCMP_ARCH_MIPSEL",
  "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32",
  "SCMP_ARCH_PARISC",
  "SCMP_ARCH_PARISC64",
  "SCMP_ARCH_PPC",
  "SCMP_ARCH_PPC64",
  "SCMP_ARCH_PPC64LE",
  "SCMP_ARCH_RISCV64",
  "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",
  "SCMP_ARCH_X32",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X86_64",
];

export const SECCOMP_KNOWN_FLAGS: readonly LinuxSeccompFlag[] = [
  "SECCOMP_FILTER_FLAG_TSYNC",
  "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
  "SECCOMP_FILTER_FLAG_LOG",
];

export interface FeatureInputs {
  /**
   * Seccomp as the runtime can use it; null or absent when libseccomp is not
   * available. supportedFlags is what the kernel accepts among knownFlags
   * (probe with seccomp(SECCOMP_SET_MODE_FILTER, flag, NULL): EFAULT means known).
   */
  seccomp?: {
    libseccompVersion?: string;
    supportedFlags?: readonly LinuxSeccompFlag[];
    knownFlags?: readonly LinuxSeccompFlag[];
    archs?: readonly LinuxSeccompArch[];
  } | null;
  /** Override the generic mount options, e.g. from the mount option parser's table. */
  mountOptions?: readonly string[];
  apparmor?: boolean;
  selinux?: boolean;
  /** cgroup managers implemented: v1, v2, and systemd's transient units (system and user managers). */
  cgroup?: { v1?: boolean; v2?: boolean; systemd?: boolean; systemdUser?: boolean; rdma?: boolean };
  /** Whether mounts[].uidMappings/gidMappings are honoured (id-mapped mounts). */
  idmapMounts?: boolean;
  /** Extra implementation annotations, e.g. the runtime's version and commit. */
  annotations?: Readonly<Record<string, string>>;
}

export function features(inputs: FeatureInputs = {}): Features {
  const sc = inputs.seccomp;
  const seccomp: NonNullable<Features["linux"]>["seccomp"] = sc
    ? {
        enabled: true,
        actions: [...SECCOMP_ACTIONS],
        operators: [...SECCOMP_OPERATORS],
        archs: [...(sc.archs ?? SECCOMP_ARCHS)],
        knownFlags: [...(sc.knownFlags ?? SECCOMP_KNOWN_FLAGS)],
        ...(sc.supportedFlags ? { supportedFlags: [...sc.supportedFlags] } : {}),
      }
    : { enabled: false };

  const annotations: Record<string, string> = {};
  if (sc?.libseccompVersion) annotations["io.github.seccomp.libseccomp.version"] = sc.libseccompVersion;
  Object.assign(annotations, inputs.annotations);

  const cgroup = inputs.cgroup ?? {};
  const doc: Features = {
    ociVersionMin: OCI_VERSION_MIN,
    ociVersionMax: OCI_VERSION_MAX,
    hooks: [...HOOK_NAMES],
    mountOptions: [...(inputs.mountOptions ?? MOUNT_OPTIONS)],
    linux: {
      namespaces: [...NAMESPACE_TYPES],
      capabilities: [...CAPABILITIES],
      cgroup: {
        v1: cgroup.v1 ?? true,
        v2: cgroup.v2 ?? true,
        systemd: cgroup.systemd ?? true,
        systemdUser: cgroup.systemdUser ?? true,
        rdma: cgroup.rdma ?? false,
      },
      seccomp,
      apparmor: { enabled: inputs.apparmor ?? false },
      selinux: { enabled: inputs.selinux ?? false },
      intelRdt: { enabled: false },
      mountExtensions: { idmap: { enabled: inputs.idmapMounts ?? false } },
      netDevices: { enabled: false },
    },
  };
  if (Object.keys(annotations).length > 0) doc.annotations = annotations;
  return doc;
}
