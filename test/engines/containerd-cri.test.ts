// containerd's CRI plugin (what the kubelet talks to) drives dx-runtime through the runc
// shim, chosen only by BinaryName in config.toml, exactly as the README shows. The test
// speaks CRI itself (cri.ts) to a private containerd: a pod on the host network (no CNI),
// one container, exec, logs, stop, removal.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { Containerd } from "./containerd";
import { spawnSync } from "node:child_process";
import { ContainerState, CriClient, Propagation, containerConfig, criPluginHead, podSandboxConfig, type Msg } from "./cri";
import { cmd, ensureCommands, runtimeBinary, testImage } from "./engines";

setDefaultTimeout(60_000);

const NS = "k8s.io"; // the namespace the CRI plugin keeps its images and containers in
const PAUSE = "docker.io/library/dx-pause:latest";
// Where the runc shim points the runtime's --root (its default), per namespace.
const RUNTIME_ROOT = `/run/containerd/runc/${NS}`;

let runtime = "";
let image = "";
let cri: CriClient | undefined;
const pods = new Set<string>();

function criConfig(dir: string): string {
  return [
    ...criPluginHead(dir, PAUSE),
    // The lines the README gives, with the binary under test.
    `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]`,
    `    runtime_type = "io.containerd.runc.v2"`,
    `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]`,
    `    BinaryName = "${runtime}"`,
    "",
  ].join("\n");
}

const daemon = new Containerd("containerd-cri", { cri: true, extra: criConfig });

function client(): CriClient {
  if (!cri) throw new Error("no CRI client: setup failed");
  return cri;
}

function rpc(method: string, req: Msg, timeoutMs?: number) {
  return client().call("RuntimeService", method, req, timeoutMs);
}

async function status(id: string): Promise<{ state: number; exitCode: number; logPath: string }> {
  const s = (await rpc("ContainerStatus", [[1, id]])).msg(1);
  return { state: s.int(3), exitCode: s.int(7), logPath: s.str(15) };
}

/** `state` from dx-runtime itself: proves it, not runc, made the container. */
function dxState(id: string) {
  return cmd([runtime, "--root", RUNTIME_ROOT, "state", id], { timeoutMs: 10_000 });
}

beforeAll(async () => {
  await ensureCommands({ containerd: "containerd", ctr: "containerd" });
  runtime = await runtimeBinary();
  await daemon.start();
  const pause = testImage(daemon.dir, { name: PAUSE, cmd: ["sleep", "2147483647"] });
  const img = testImage(daemon.dir);
  await daemon.importImage(NS, pause.tar);
  await daemon.importImage(NS, img.tar);
  image = img.name;
  cri = new CriClient(daemon.sock);
}, 300_000);

afterAll(async () => {
  try {
    for (const id of pods) {
      await rpc("StopPodSandbox", [[1, id]]).catch(() => {});
      await rpc("RemovePodSandbox", [[1, id]]).catch(() => {});
    }
    cri?.close();
  } finally {
    await daemon.stop();
  }
}, 120_000);

describe("containerd CRI drives dx-runtime (BinaryName in config.toml)", () => {
  test("the CRI plugin is up", async () => {
    const v = await rpc("Version", [[1, "v1"]]);
    expect(v.str(2)).toBe("containerd");
    expect(v.str(4)).toBe("v1");
  });

  test("pod, container, exec, logs, stop, remove", async () => {
    const logs = path.join(daemon.dir, "pod-logs");
    fs.mkdirSync(logs);
    const pod = podSandboxConfig({ name: "dx-pod", uid: `uid-${Date.now()}`, namespace: "default", logDirectory: logs });
    const podId = (await rpc("RunPodSandbox", [[1, pod]])).str(1);
    expect(podId).toMatch(/^[0-9a-f]{64}$/);
    pods.add(podId);
    expect(JSON.parse((await dxState(podId)).stdout).status).toBe("running");

    const cfg = containerConfig({
      name: "main",
      image,
      command: ["sh", "-c", "echo hello from cri; echo to stderr >&2; exec sleep 1000"],
      logPath: "main.log",
    });
    const id = (await rpc("CreateContainer", [[1, podId], [2, cfg], [3, pod]])).str(1);
    expect((await status(id)).state).toBe(ContainerState.CREATED);
    // CRI runs the OCI create and start both at StartContainer.
    await rpc("StartContainer", [[1, id]]);
    expect((await status(id)).state).toBe(ContainerState.RUNNING);
    expect(JSON.parse((await dxState(id)).stdout).status).toBe("running");

    const ex = await rpc("ExecSync", [[1, id], [2, "sh"], [2, "-c"], [2, "echo out; echo err >&2; exit 4"], [3, 10]]);
    expect(ex.bytes(1).toString()).toBe("out\n");
    expect(ex.bytes(2).toString()).toBe("err\n");
    expect(ex.int(3)).toBe(4);

    // CRI log lines: TIME STREAM F|P TEXT
    const log = fs.readFileSync(path.join(logs, "main.log"), "utf8");
    expect(log).toMatch(/^\S+ stdout F hello from cri$/m);
    expect(log).toMatch(/^\S+ stderr F to stderr$/m);

    // SIGTERM first; sleep is not a pid 1 here (it shares the pod's pid namespace), so it dies of it.
    await rpc("StopContainer", [[1, id], [2, 10]], 30_000);
    const st = await status(id);
    expect(st.state).toBe(ContainerState.EXITED);
    expect(st.exitCode).toBe(143);
    await rpc("RemoveContainer", [[1, id]]);
    expect((await dxState(id)).code).not.toBe(0);

    await rpc("StopPodSandbox", [[1, podId]]);
    await rpc("RemovePodSandbox", [[1, podId]]);
    pods.delete(podId);
    expect((await dxState(podId)).code).not.toBe(0);
    expect(daemon.log()).not.toContain("failed to kill init's children");
  });
});

/** Host mount points made by a test; lazily unmounted, last first, however it ends. */
function hostMounts() {
  const made: string[] = [];
  const sh = (...a: string[]) => {
    const r = spawnSync(a[0]!, a.slice(1), { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${a.join(" ")}: ${r.stderr}`);
  };
  return {
    mount(...a: string[]) {
      sh("mount", ...a);
      made.push(a[a.length - 1]!);
    },
    adopt: (p: string) => made.push(p),
    /** `dir` as the kubelet keeps its volumes: a mount point of its own, shared */
    shared(dir: string) {
      this.mount("--bind", dir, dir);
      sh("mount", "--make-shared", dir);
    },
    release: () => made.reverse().forEach((p) => spawnSync("umount", ["-l", p])),
  };
}

const mountedAt = (mountinfo: string, where: string) => mountinfo.split("\n").some((l) => l.split(" ")[4] === where);

describe("CRI volumes and working directory through dx-runtime", () => {
  test("Bidirectional and HostToContainer volumes propagate as the kubelet asks; a missing workingDir is made", async () => {
    const host = hostMounts();
    const logs = path.join(daemon.dir, "vol-logs");
    fs.mkdirSync(logs, { recursive: true });
    const pod = podSandboxConfig({ name: "dx-vol", uid: `uid-vol-${Date.now()}`, namespace: "default", logDirectory: logs });
    const podId = (await rpc("RunPodSandbox", [[1, pod]])).str(1);
    pods.add(podId);
    try {
      const bidi = path.join(daemon.dir, "vol-bidi");
      const h2c = path.join(daemon.dir, "vol-h2c");
      for (const d of [bidi, h2c]) {
        fs.mkdirSync(path.join(d, "fromhost"), { recursive: true });
        fs.mkdirSync(path.join(d, "fromctr"));
        host.shared(d);
      }
      const cfg = containerConfig({
        name: "vols",
        image,
        command: ["sleep", "1000"],
        logPath: "vols.log",
        workingDir: "/not/in/the/image",
        mounts: [
          { containerPath: "/bidi", hostPath: bidi, propagation: Propagation.BIDIRECTIONAL },
          { containerPath: "/h2c", hostPath: h2c, propagation: Propagation.HOST_TO_CONTAINER },
        ],
        addCaps: ["SYS_ADMIN"],
      });
      const id = (await rpc("CreateContainer", [[1, podId], [2, cfg], [3, pod]])).str(1);
      await rpc("StartContainer", [[1, id]]);
      expect((await status(id)).state).toBe(ContainerState.RUNNING);
      const exec = async (...argv: string[]) => {
        const r = await rpc("ExecSync", [[1, id], ...argv.map((a): [number, string] => [2, a]), [3, 10]]);
        return { out: r.bytes(1).toString(), err: r.bytes(2).toString(), code: r.int(3) };
      };
      expect((await exec("pwd")).out).toBe("/not/in/the/image\n");

      // host → container, both ways of propagation
      host.mount("-t", "tmpfs", "fromhost", path.join(bidi, "fromhost"));
      host.mount("-t", "tmpfs", "fromhost", path.join(h2c, "fromhost"));
      const mi = (await exec("cat", "/proc/self/mountinfo")).out;
      expect(mountedAt(mi, "/bidi/fromhost")).toBe(true);
      expect(mountedAt(mi, "/h2c/fromhost")).toBe(true);

      // container → host: Bidirectional only
      for (const v of ["/bidi", "/h2c"]) expect((await exec("mount", "-t", "tmpfs", "fromctr", `${v}/fromctr`)).code).toBe(0);
      host.adopt(path.join(bidi, "fromctr"));
      const hostMi = fs.readFileSync("/proc/self/mountinfo", "utf8");
      expect(mountedAt(hostMi, path.join(bidi, "fromctr"))).toBe(true);
      expect(mountedAt(hostMi, path.join(h2c, "fromctr"))).toBe(false);

      await rpc("StopContainer", [[1, id], [2, 0]], 30_000);
      await rpc("RemoveContainer", [[1, id]]);
    } finally {
      await rpc("StopPodSandbox", [[1, podId]]).catch(() => {});
      await rpc("RemovePodSandbox", [[1, podId]]).catch(() => {});
      pods.delete(podId);
      host.release();
    }
  });
});
