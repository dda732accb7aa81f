// StopContainer and StopPodSandbox through containerd's CRI plugin, as the kubelet calls
// them: one runtime handler per runtime (the runc shim with that BinaryName and a state
// root of its own), a pod on the host network with one `sleep` container. StopContainer
// is the shim's kill (SIGTERM), the wait and its delete; StopPodSandbox the same for the
// pause container. Only those two calls are timed.
import { join } from "node:path";
import { Containerd } from "../../test/engines/containerd";
import { CriClient, containerConfig, criPluginHead, podSandboxConfig } from "../../test/engines/cri";
import { buildImage } from "../../test/engines/image";

const NS = "k8s.io";
const PAUSE = "docker.io/library/dx-bench-pause:latest";
const IMAGE = "docker.io/library/dx-bench-busybox:latest";

export class CriBench {
  private daemon?: Containerd;
  private cri?: CriClient;
  private handlers = new Map<string, string>();
  private n = 0;

  /** `runtimes`: name → binary. */
  async open(runtimes: Record<string, string>): Promise<void> {
    Object.keys(runtimes).forEach((name, i) => this.handlers.set(name, `bench${i}`));
    const extra = (dir: string) =>
      [
        ...criPluginHead(dir, PAUSE),
        `  [plugins."io.containerd.grpc.v1.cri".containerd]`,
        `    default_runtime_name = "bench0"`,
        ...Object.entries(runtimes).flatMap(([name, bin]) => {
          const h = this.handlers.get(name)!;
          return [
            `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h}]`,
            `    runtime_type = "io.containerd.runc.v2"`,
            `  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.${h}.options]`,
            `    BinaryName = "${bin}"`,
            `    Root = "${dir}/runtime-root/${h}"`,
          ];
        }),
        "",
      ].join("\n");
    const d = new Containerd("bench-cri", { cri: true, extra });
    this.daemon = d;
    await d.start();
    await d.importImage(NS, buildImage(join(d.dir, "pause.oci.tar"), { name: PAUSE, cmd: ["sleep", "2147483647"] }).tar);
    await d.importImage(NS, buildImage(join(d.dir, "busybox.oci.tar"), { name: IMAGE }).tar);
    this.cri = new CriClient(d.sock);
  }

  private rpc(method: string, req: any, timeoutMs = 60_000) {
    return this.cri!.call("RuntimeService", method, req, timeoutMs);
  }

  /**
   * One pod with one container on runtime `name`: the times of StopContainer and
   * StopPodSandbox. `around` runs just before and after each timed call (the crun
   * wrapper's call counter).
   */
  async stops(name: string, around?: { before(): void; after(what: "criStopContainer" | "criStopPod"): void }): Promise<{ stopContainer: number; stopPod: number }> {
    const k = this.n++;
    const pod = podSandboxConfig({ name: `bench-${k}`, uid: `uid-${process.pid}-${k}`, namespace: "default", logDirectory: join(this.daemon!.dir, `logs-${k}`) });
    const podId = (await this.rpc("RunPodSandbox", [[1, pod], [2, this.handlers.get(name)!]])).str(1);
    try {
      const cfg = containerConfig({ name: "main", image: IMAGE, command: ["sleep", "1000"], logPath: "main.log" });
      const id = (await this.rpc("CreateContainer", [[1, podId], [2, cfg], [3, pod]])).str(1);
      await this.rpc("StartContainer", [[1, id]]);
      around?.before();
      let t0 = performance.now();
      await this.rpc("StopContainer", [[1, id], [2, 10]]);
      const stopContainer = performance.now() - t0;
      around?.after("criStopContainer");
      await this.rpc("RemoveContainer", [[1, id]]);
      around?.before();
      t0 = performance.now();
      await this.rpc("StopPodSandbox", [[1, podId]]);
      const stopPod = performance.now() - t0;
      around?.after("criStopPod");
      return { stopContainer, stopPod };
    } finally {
      await this.rpc("StopPodSandbox", [[1, podId]]).catch(() => {});
      await this.rpc("RemovePodSandbox", [[1, podId]]).catch(() => {});
    }
  }

  async close(): Promise<void> {
    this.cri?.close();
    await this.daemon?.stop();
  }
}
