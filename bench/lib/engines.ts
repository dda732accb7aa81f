// Engines end to end: `ctr run --rm IMAGE true` through a private containerd (its runc shim
// calls the runtime) and `podman run --rm IMAGE true` (through conmon), each with a
// runtime given per command. The daemons, image and storage live in a temp dir; no
// registry or network is used (the image is built from the test suite's busybox rootfs).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Containerd } from "../../test/engines/containerd";
import { hardLimit, hasCapSysResource, PODMAN_CGROUP_PARENT, removeTree, tempDir } from "../../test/engines/engines";
import { buildImage, type BuiltImage } from "../../test/engines/image";
import { removeCgroupParent } from "./shim";

/** The containerd namespace: the shim puts its tasks' cgroups under /NAMESPACE. */
const NS = `dxbench-ctr-${process.pid}`;

export interface EngineRun {
  ms: number;
  code: number;
  err: string;
}

function run(argv: string[], env?: Record<string, string>): EngineRun {
  const t0 = performance.now();
  const r = Bun.spawnSync(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  const ms = performance.now() - t0;
  const code = r.exitCode ?? 1;
  return { ms, code, err: code === 0 ? "" : (r.stderr.toString() + r.stdout.toString()).trim().split("\n").slice(-2).join(" | ") };
}

const has = (cmd: string) => ["/usr/bin", "/usr/sbin", "/bin", "/sbin", "/usr/local/bin"].some((d) => existsSync(join(d, cmd)));

export class Engines {
  private dir = "";
  private image?: BuiltImage;
  private containerd?: Containerd;
  private podmanDir = "";
  private podmanConf = "";
  private n = 0;
  readonly notes: string[] = [];

  async open(): Promise<void> {
    this.dir = tempDir("bench-engines");
    this.image = buildImage(join(this.dir, "image.oci.tar"));
    if (has("containerd") && has("ctr") && has("containerd-shim-runc-v2")) {
      try {
        const c = new Containerd("bench-ctr", { cri: false });
        this.containerd = c;
        await c.start();
        await c.importImage(NS, this.image.tar);
      } catch (e: any) {
        this.notes.push(`ctr rows skipped: ${e.message.split("\n")[0]}`);
        await this.containerd?.stop().catch(() => {});
        this.containerd = undefined;
      }
    } else this.notes.push("ctr rows skipped: containerd, ctr or containerd-shim-runc-v2 not installed");
    if (has("podman") && has("conmon")) {
      this.podmanDir = join(this.dir, "podman");
      mkdirSync(this.podmanDir, { recursive: true });
      this.podmanConf = join(this.podmanDir, "containers.conf");
      writeFileSync(this.podmanConf, containersConf());
      const r = run(["podman", ...this.podmanGlobals(), "load", "-i", this.image.tar], { CONTAINERS_CONF: this.podmanConf });
      if (r.code !== 0) {
        this.notes.push(`podman rows skipped: podman load: ${r.err}`);
        this.podmanDir = "";
      }
    } else this.notes.push("podman rows skipped: podman or conmon not installed");
  }

  get hasCtr(): boolean {
    return !!this.containerd;
  }
  get hasPodman(): boolean {
    return !!this.podmanDir;
  }

  private podmanGlobals(): string[] {
    const d = this.podmanDir;
    return ["--root", join(d, "storage"), "--runroot", join(d, "run"), "--tmpdir", join(d, "tmp"), "--cgroup-manager", "cgroupfs", "--events-backend", "file"];
  }

  /** `ctr run --rm --runc-binary BIN IMAGE ID true`: snapshot, shim, create, start, wait, delete. */
  ctrRun(bin: string): EngineRun {
    const c = this.containerd!;
    const id = `bx${process.pid}-${this.n++}`;
    return run(["ctr", "--address", c.sock, "--namespace", NS, "run", "--rm", "--runc-binary", bin, this.image!.name, id, "true"]);
  }

  /** `podman --runtime BIN run --rm IMAGE true` */
  podmanRun(bin: string): EngineRun {
    return run(["podman", "--runtime", bin, ...this.podmanGlobals(), "run", "--rm", this.image!.name, "true"], { CONTAINERS_CONF: this.podmanConf });
  }

  async close(): Promise<void> {
    try {
      if (this.containerd) await this.containerd.stop();
      if (this.podmanDir) run(["podman", ...this.podmanGlobals(), "rm", "-a", "-f"], { CONTAINERS_CONF: this.podmanConf });
      if (this.podmanDir) run(["podman", ...this.podmanGlobals(), "rmi", "-a", "-f"], { CONTAINERS_CONF: this.podmanConf });
    } finally {
      removeCgroupParent(NS);
      if (this.podmanDir) removeCgroupParent(PODMAN_CGROUP_PARENT);
      if (this.dir) await removeTree(this.dir);
    }
  }
}

/** What test/engines/podman.test.ts configures: no network, ulimits the host can grant. */
function containersConf(): string {
  const lines = ["[containers]", `netns = "none"`];
  if (!hasCapSysResource()) {
    const nofile = hardLimit("Max open files");
    const nproc = Math.min(hardLimit("Max processes"), 32768);
    lines.push(`default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`);
  }
  return lines.join("\n") + "\n";
}

/** Calls made through the crun wrapper since the file was last cleared. */
export function wrapperCalls(file: string): number {
  try {
    return readFileSync(file, "utf8").length;
  } catch {
    return 0;
  }
}
export function clearWrapperCalls(file: string): void {
  rmSync(file, { force: true });
}
