// A private containerd for one test file: its own root, state, socket and config, started
// by pid and stopped by pid, with every task it ran killed and deleted first (shims
// outlive containerd by design).
import fs from "node:fs";
import path from "node:path";
import { cmd, ok, removeCgroupParent, removeTree, stopProcess, tempDir, waitUntil, type CmdResult } from "./engines";

const HEAVY_SNAPSHOTTERS = ["btrfs", "zfs", "aufs", "devmapper"].map((s) => `"io.containerd.snapshotter.v1.${s}"`);

export class Containerd {
  readonly dir: string;
  readonly sock: string;
  private proc: ReturnType<typeof Bun.spawn> | undefined;
  private namespaces = new Set<string>();

  /** `extra` is appended to config.toml; `cri` keeps the CRI plugin enabled. */
  constructor(
    tag: string,
    private opts: { cri: boolean; extra?: (dir: string) => string },
  ) {
    this.dir = tempDir(tag);
    this.sock = path.join(this.dir, "containerd.sock");
  }

  configToml(): string {
    const d = this.dir;
    const disabled = [...(this.opts.cri ? [] : [`"io.containerd.grpc.v1.cri"`]), ...HEAVY_SNAPSHOTTERS];
    return [
      "version = 2",
      `root = "${d}/root"`,
      `state = "${d}/state"`,
      `disabled_plugins = [${disabled.join(", ")}]`,
      "[grpc]",
      `  address = "${this.sock}"`,
      "[ttrpc]",
      `  address = "${this.sock}.ttrpc"`,
      `[plugins."io.containerd.internal.v1.opt"]`,
      `  path = "${d}/opt"`,
      this.opts.extra?.(d) ?? "",
    ].join("\n");
  }

  async start(): Promise<void> {
    const conf = path.join(this.dir, "config.toml");
    fs.writeFileSync(conf, this.configToml());
    const log = fs.openSync(path.join(this.dir, "containerd.log"), "a");
    this.proc = Bun.spawn({ cmd: ["containerd", "--config", conf], stdio: ["ignore", log, log] });
    fs.closeSync(log);
    await waitUntil("containerd to serve", async () => (await this.ctr("default", ["version"], 5_000)).code === 0, 30_000);
  }

  ctr(ns: string, args: string[], timeoutMs = 30_000): Promise<CmdResult> {
    this.namespaces.add(ns);
    return cmd(["ctr", "--address", this.sock, "--namespace", ns, ...args], { timeoutMs });
  }

  async importImage(ns: string, tar: string): Promise<void> {
    this.namespaces.add(ns);
    await ok(["ctr", "--address", this.sock, "--namespace", ns, "images", "import", tar], { timeoutMs: 60_000 });
  }

  async taskStatus(ns: string, id: string): Promise<string | undefined> {
    const r = await this.ctr(ns, ["task", "ls"]);
    const row = r.stdout.split("\n").find((l) => l.split(/\s+/)[0] === id);
    return row?.trim().split(/\s+/)[2];
  }

  log(): string {
    try {
      return fs.readFileSync(path.join(this.dir, "containerd.log"), "utf8");
    } catch {
      return "";
    }
  }

  /** Kills and deletes every task and container, stops the daemon, removes the dir. */
  async stop(): Promise<void> {
    try {
      if (this.proc && this.proc.exitCode === null) {
        for (const ns of this.namespaces) {
          const tasks = (await this.ctr(ns, ["task", "ls", "-q"], 10_000)).stdout.split("\n").filter(Boolean);
          for (const id of tasks) await this.ctr(ns, ["task", "kill", "-a", "-s", "SIGKILL", id], 10_000);
          for (const id of tasks) {
            await waitUntil(`${id} to stop`, async () => (await this.taskStatus(ns, id)) !== "RUNNING", 10_000).catch(() => {});
            await this.ctr(ns, ["task", "delete", "-f", id], 10_000);
          }
          const ctrs = (await this.ctr(ns, ["container", "ls", "-q"], 10_000)).stdout.split("\n").filter(Boolean);
          for (const id of ctrs) await this.ctr(ns, ["container", "delete", id], 10_000);
        }
      }
    } finally {
      if (this.proc) await stopProcess(this.proc);
      for (const ns of this.namespaces) removeCgroupParent(ns);
      if (process.env.DX_KEEP_LOGS) fs.writeFileSync(process.env.DX_KEEP_LOGS, this.log());
      await removeTree(this.dir);
    }
  }
}
