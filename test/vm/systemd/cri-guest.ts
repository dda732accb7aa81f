// Runs in the systemd guest (bun from the repository share): drives containerd's CRI
// plugin with one runtime handler, as the kubelet does with SystemdCgroup = true, and
// checks with systemctl that each container is a scope with its limits while it runs
// and is gone once removed. Prints VMTEST lines (see ../guest-tests.sh).
//
//   bun cri-guest.ts HANDLER RUNTIME_BINARY IMAGE
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { ContainerState, CriClient, NODE, type Msg } from "../../engines/cri";

const [handler, runtime, image] = process.argv.slice(2) as [string, string, string];
const tag = `cri-${handler}`;
let failed = 0;
const ok = (n: string) => console.log(`VMTEST ok ${tag}-${n}`);
const fail = (n: string, why: string) => {
  failed++;
  console.log(`VMTEST fail ${tag}-${n}: ${why.replace(/\s+/g, " ").slice(0, 600)}`);
};
function expect(n: string, got: unknown, want: unknown) {
  if (String(got) === String(want)) ok(n);
  else fail(n, `got '${got}', want '${want}'`);
}

function show(unit: string, ...props: string[]): Record<string, string> {
  const r = spawnSync("systemctl", ["show", unit, ...props.map((p) => `-p${p}`)], { encoding: "utf8" });
  const out: Record<string, string> = {};
  for (const l of r.stdout.split("\n")) {
    const i = l.indexOf("=");
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

const cri = new CriClient("/run/containerd/containerd.sock");
const rpc = (m: string, req: Msg, t?: number) => cri.call("RuntimeService", m, req, t);
// A dash in a slice name nests it one level deeper: the kubelet's pod uids have none.
const podUid = `${handler.replace(/-/g, "_")}${Date.now()}`;
// The kubelet's systemd layout: kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice
const parent = `kubepods-besteffort-pod${podUid}.slice`;
const logs = `/tmp/${tag}-logs`;
fs.mkdirSync(logs, { recursive: true });
const pod: Msg = [
  [1, [[1, `pod-${handler}`], [2, podUid], [3, "default"], [4, 0]]],
  [3, logs],
  [8, [[1, parent], [2, [[1, [[1, NODE], [2, 0], [3, 0]]]]]]],
];
// runtime_handler picks the containerd runtime from config.toml.
try {
  const podId = (await rpc("RunPodSandbox", [[1, pod], [2, handler]], 120_000)).str(1);
  ok("run-pod-sandbox");
  const podUnit = `cri-containerd-${podId}.scope`;
  const ps = show(podUnit, "ActiveState", "ControlGroup", "Delegate");
  expect("pod-unit-active", ps.ActiveState, "active");
  expect("pod-unit-cgroup", ps.ControlGroup, `/kubepods.slice/kubepods-besteffort.slice/${parent}/${podUnit}`);
  const st = spawnSync(runtime, ["--root", "/run/containerd/runc/k8s.io", "state", podId], { encoding: "utf8" });
  expect("pod-state-by-runtime", st.status === 0 && JSON.parse(st.stdout).status, "running");

  const cfg: Msg = [
    [1, [[1, "main"], [2, 0]]],
    [2, [[1, image]]],
    [3, "sh"],
    [3, "-c"],
    [3, "echo hello; exec sleep 1000"],
    [11, "main.log"],
    // LinuxContainerConfig.resources: cpu_period, cpu_quota, memory_limit_in_bytes
    [15, [[1, [[1, 100000], [2, 50000], [4, 64 * 1024 * 1024]]]]],
  ];
  const id = (await rpc("CreateContainer", [[1, podId], [2, cfg], [3, pod]], 120_000)).str(1);
  await rpc("StartContainer", [[1, id]], 120_000);
  const s = (await rpc("ContainerStatus", [[1, id]])).msg(1);
  expect("container-running", s.int(3), ContainerState.RUNNING);
  const unit = `cri-containerd-${id}.scope`;
  const cs = show(unit, "ActiveState", "MemoryMax", "CPUQuotaPerSecUSec", "ControlGroup");
  expect("container-unit-active", cs.ActiveState, "active");
  expect("container-unit-memorymax", cs.MemoryMax, String(64 * 1024 * 1024));
  expect("container-unit-cpuquota", cs.CPUQuotaPerSecUSec, "500ms");
  let memMax = "";
  try {
    memMax = fs.readFileSync(`/sys/fs/cgroup${cs.ControlGroup}/memory.max`, "utf8").trim();
  } catch (e: any) {
    memMax = e.code;
  }
  expect("container-memory.max", memMax, String(64 * 1024 * 1024));

  const ex = await rpc("ExecSync", [[1, id], [2, "sh"], [2, "-c"], [2, "cat /proc/self/cgroup; exit 3"], [3, 30]], 60_000);
  expect("exec-exit-code", ex.int(3), 3);
  expect("exec-in-cgroupns", ex.bytes(1).toString().trim(), "0::/");

  await rpc("StopContainer", [[1, id], [2, 10]], 60_000);
  expect("container-exited", (await rpc("ContainerStatus", [[1, id]])).msg(1).int(3), ContainerState.EXITED);
  await rpc("RemoveContainer", [[1, id]], 60_000);
  expect("container-unit-gone", show(unit, "LoadState").LoadState, "not-found");
  await rpc("StopPodSandbox", [[1, podId]], 60_000);
  await rpc("RemovePodSandbox", [[1, podId]], 60_000);
  expect("pod-unit-gone", show(podUnit, "LoadState").LoadState, "not-found");
} catch (e: any) {
  fail("flow", e?.message ?? String(e));
}
cri.close();
process.exit(failed ? 1 : 0);
