import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CAPABILITIES, capabilityNumber } from "../../src/spec/capabilities";
import { features, MOUNT_OPTIONS, OCI_VERSION_MAX, OCI_VERSION_MIN } from "../../src/spec/features";
import { parseSpec } from "../../src/spec/load";
import { defaultSpec, renderSpec } from "../../src/spec/default";
import { featuresProblem, stateProblem } from "../../src/spec/validate";
import type { Features } from "../../src/spec/types";

const full = features({
  seccomp: {
    libseccompVersion: "2.5.4",
    supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
  },
  apparmor: true,
  selinux: false,
  idmapMounts: true,
  annotations: { "org.example.runtime.version": "0.1.0" },
});

describe("features", () => {
  test("validates against features-schema.json, with and without inputs", () => {
    expect(featuresProblem(full)).toBeNull();
    expect(featuresProblem(features())).toBeNull();
    expect(featuresProblem(features({ seccomp: null }))).toBeNull();
  });

  test("the schema check does catch a broken document", () => {
    const broken: Partial<Features> = structuredClone(full);
    delete broken.ociVersionMax;
    expect(featuresProblem(broken)).toBe("/ociVersionMax: is required");
    const bad = structuredClone(full);
    (bad.linux!.namespaces as string[]).push("nope");
    expect(featuresProblem(bad)).toBe(
      "/linux/namespaces/8: must be one of mount, pid, network, uts, ipc, user, cgroup, time",
    );
  });

  test("reflects its inputs", () => {
    expect(full.linux?.seccomp).toMatchObject({
      enabled: true,
      supportedFlags: ["SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG"],
    });
    expect(full.linux?.apparmor).toEqual({ enabled: true });
    expect(full.linux?.mountExtensions).toEqual({ idmap: { enabled: true } });
    expect(full.annotations).toEqual({
      "io.github.seccomp.libseccomp.version": "2.5.4",
      "org.example.runtime.version": "0.1.0",
    });
    const bare = features();
    expect(bare.linux?.seccomp).toEqual({ enabled: false });
    expect(bare.annotations).toBeUndefined();
    expect(features({ mountOptions: ["ro"] }).mountOptions).toEqual(["ro"]);
  });

  test("the runtime accepts the versions it announces", () => {
    expect(OCI_VERSION_MIN <= OCI_VERSION_MAX).toBe(true);
    for (const v of [full.ociVersionMin, full.ociVersionMax]) {
      const spec = { ...defaultSpec(), ociVersion: v, root: { path: "/" } };
      expect(parseSpec(renderSpec(spec), "/").ociVersion).toBe(v);
    }
  });

  test("capabilities are numbered as in linux/capability.h", () => {
    expect(CAPABILITIES).toHaveLength(41);
    expect(capabilityNumber("CAP_CHOWN")).toBe(0);
    expect(capabilityNumber("CAP_SYS_ADMIN")).toBe(21);
    expect(capabilityNumber("CAP_CHECKPOINT_RESTORE")).toBe(40);
    expect(capabilityNumber("CAP_NOPE")).toBeUndefined();
    const lastCap = Number(readFileSync("/proc/sys/kernel/cap_last_cap", "utf8"));
    expect(CAPABILITIES.length - 1).toBeGreaterThanOrEqual(lastCap);
  });

  const runc = Bun.which("runc");
  test.skipIf(!runc)("recognizes at least what `runc features` lists", () => {
    const out = Bun.spawnSync([runc!, "features"]);
    expect(out.exitCode).toBe(0);
    const theirs = JSON.parse(out.stdout.toString()) as Features;
    expect(featuresProblem(theirs)).toBeNull();
    const covers = (ours: readonly string[] | undefined, other: readonly string[] | undefined): void => {
      const missing = (other ?? []).filter((x) => !(ours ?? []).includes(x));
      expect(missing).toEqual([]);
    };
    covers(full.hooks, theirs.hooks);
    covers(MOUNT_OPTIONS, theirs.mountOptions);
    covers(full.linux?.namespaces, theirs.linux?.namespaces);
    covers(full.linux?.capabilities, theirs.linux?.capabilities);
    covers(full.linux?.seccomp?.actions, theirs.linux?.seccomp?.actions);
    covers(full.linux?.seccomp?.operators, theirs.linux?.seccomp?.operators);
    covers(full.linux?.seccomp?.archs, theirs.linux?.seccomp?.archs);
    expect(full.linux?.capabilities).toEqual(theirs.linux?.capabilities);
  });
});

describe("state documents", () => {
  test("a state validates, a bad status names the allowed ones", () => {
    const state = { ociVersion: "1.0.2-dev", id: "c1", status: "created", pid: 42, bundle: "/b", annotations: {} };
    expect(stateProblem(state)).toBeNull();
    expect(stateProblem({ ...state, status: "paused" })).toBe("/status: must be one of creating, created, running, stopped");
    const { bundle: _omit, ...noBundle } = state;
    expect(stateProblem(noBundle)).toBe("/bundle: is required");
  });
});
