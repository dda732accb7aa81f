// The runtime's cache dir (/run/dx-runtime-cache) is one for the machine. Tests that
// look into it, plant things there or need it unusable get a private one: a tmpfs
// mounted over it in a mount namespace of their own, which the runtime joins.
import fs from "node:fs";
import { spawn, spawnSync } from "node:child_process";
import { RUNTIME } from "./runtime";

export const CACHE_DIR = "/run/dx-runtime-cache";

export interface PrivateCache {
  /** the cache dir as seen from here */
  dir: string;
  /** the runtime with these arguments, inside the namespace: exit status and stderr (stdout to `out`, else /dev/null) */
  run(args: string[], out?: string): { status: number | null; stderr: string };
  close(): void;
}

/** A tmpfs with these mount options over the cache dir, seen only by `run`. */
export async function privateCache(tmpfsOptions: string): Promise<PrivateCache> {
  fs.mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
  const holder = spawn(
    "unshare",
    ["-m", "--propagation", "private", "sh", "-c", `mount -t tmpfs -o ${tmpfsOptions} tmpfs ${CACHE_DIR} && echo ready && exec sleep 600`],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.once("data", () => resolve());
    holder.once("exit", (code) => reject(new Error(`unshare exited ${code}`)));
  });
  const pid = holder.pid!;
  return {
    dir: `/proc/${pid}/root${CACHE_DIR}`,
    run(args, out) {
      // Files, not pipes: a created container keeps its runtime's stdout and stderr.
      const err = `/tmp/dxt-privcache-${process.pid}-${Date.now()}`;
      const fd = fs.openSync(err, "w");
      const outFd = out ? fs.openSync(out, "w") : "ignore";
      try {
        const r = spawnSync("nsenter", ["-t", String(pid), "-m", "--", RUNTIME, ...args], { stdio: ["ignore", outFd, fd] });
        return { status: r.status, stderr: fs.readFileSync(err, "utf8") };
      } finally {
        fs.closeSync(fd);
        if (typeof outFd === "number") fs.closeSync(outFd);
        fs.rmSync(err, { force: true });
      }
    },
    close() {
      holder.kill("SIGKILL");
    },
  };
}
