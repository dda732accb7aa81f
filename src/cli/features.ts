// features: what this build honours, filled from the modules that implement each part.
import { features } from "../spec/features";
import { knownMountOptions } from "../mounts/options";
import pkg from "../../package.json" with { type: "json" };

export function runtimeFeatures() {
  let seccomp = null;
  try {
    const { seccompFeatures } = require("../seccomp") as typeof import("../seccomp");
    seccomp = seccompFeatures() as any;
  } catch {
    // no libseccomp on this host: the feature is reported disabled
  }
  return features({
    seccomp,
    mountOptions: knownMountOptions(),
    annotations: { "org.dx-runtime.version": pkg.version },
  });
}
