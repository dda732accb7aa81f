// A container's cgroup from its state, with the drivers loaded only when a container
// has one and the command gets this far.
import type { StoredState } from "../state/store";

export function cgroupOf(st: StoredState) {
  if (!st.cgroup) return undefined;
  const { loadCgroup, loadSystemdCgroup } = require("../cgroups") as typeof import("../cgroups");
  return (st.systemdCgroup ? loadSystemdCgroup : loadCgroup)(st.cgroup.version, st.cgroup.paths);
}
