// podman (through conmon) drives dx-runtime, chosen by a private containers.conf the way
// the README shows. Storage, run state and events live in a temp dir; no network.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { hasCapSysResource, cmd, ensureCommands, hardLimit, ok, onPty, PODMAN_CGROUP_PARENT, removeCgroupParent, removeTree, runtimeBinary, tempDir, testImage, waitUntil } from "./engines";

setDefaultTimeout(60_000);

let dir = "";
let conf = "";
let runtime = "";
let image = "";
const made = new Set<string>();

function globals(): string[] {
  return [
    "--root", path.join(dir, "storage"),
    "--runroot", path.join(dir, "run"),
    "--tmpdir", path.join(dir, "tmp"),
    "--cgroup-manager", "cgroupfs",
    "--events-backend", "file",
  ];
}

function podman(args: string[], timeoutMs = 30_000) {
  return cmd(["podman", ...globals(), ...args], { timeoutMs, env: { CONTAINERS_CONF: conf } });
}

function name(tag: string): string {
  const n = `dxe-${tag}-${Math.random().toString(16).slice(2, 8)}`;
  made.add(n);
  return n;
}

async function state(n: string): Promise<string> {
  return (await podman(["inspect", "--format", "{{.State.Status}}", n])).stdout.trim();
}

/** The README's containers.conf, plus what a sandboxed host needs; `choose` picks dx-runtime. */
function containersConf(choose: boolean): string {
  const lines = [
    "[containers]",
    // Without a network namespace of its own podman would need netavark or CNI set up.
    `netns = "none"`,
  ];
  // podman asks for RLIMIT_NOFILE 1048576 by default; raising a hard limit needs
  // CAP_SYS_RESOURCE, which some sandboxes withhold even from root, and then runc fails
  // exactly as dx-runtime does. Ask for no more than the runtime will have: our hard
  // limits, and for NPROC no more than the 32768 podman 4.3 leaves its children.
  if (!hasCapSysResource()) {
    const nofile = hardLimit("Max open files");
    const nproc = Math.min(hardLimit("Max processes"), 32768);
    lines.push(`default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`);
  }
  if (choose) lines.push("[engine]", `runtime = "dx-runtime"`, "[engine.runtimes]", `dx-runtime = ["${runtime}"]`);
  return lines.join("\n") + "\n";
}

beforeAll(async () => {
  await ensureCommands({ podman: "podman", conmon: "conmon", python3: "python3" });
  runtime = await runtimeBinary();
  dir = tempDir("podman");
  conf = path.join(dir, "containers.conf");
  fs.writeFileSync(conf, containersConf(true));
  fs.writeFileSync(path.join(dir, "plain.conf"), containersConf(false));
  const img = testImage(dir);
  await ok(["podman", ...globals(), "load", "-i", img.tar], { timeoutMs: 120_000, env: { CONTAINERS_CONF: conf } });
  image = img.name;
}, 300_000);

afterAll(async () => {
  try {
    if (dir) {
      for (const n of made) await podman(["rm", "-f", "-t", "0", n], 30_000);
      // Not `system reset`: that also clears host-wide network configs. Storage's own
      // mounts under dir go with removeTree.
      await podman(["rmi", "-a", "-f"], 60_000);
    }
  } finally {
    if (dir) {
      removeCgroupParent(PODMAN_CGROUP_PARENT);
      await removeTree(dir);
    }
  }
}, 120_000);

describe("podman drives dx-runtime", () => {
  test("the configured runtime is dx-runtime", async () => {
    const r = await podman(["info", "--format", "{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}"]);
    expect(r.stdout.trim()).toBe(`dx-runtime ${runtime}`);
  });

  test("podman run --rm: output and exit status", async () => {
    const r = await podman(["run", "--rm", image, "sh", "-c", "echo hi from pid $$; echo oops >&2; exit 7"]);
    expect(r.stdout).toBe("hi from pid 1\n");
    expect(r.stderr).toBe("oops\n");
    expect(r.code).toBe(7);
  });

  test("podman --runtime PATH, without containers.conf choosing it", async () => {
    const env = { CONTAINERS_CONF: path.join(dir, "plain.conf") };
    const info = await cmd(["podman", "--runtime", runtime, ...globals(), "info", "--format", "{{.Host.OCIRuntime.Path}}"], { env });
    expect(info.stdout.trim()).toBe(runtime);
    const r = await cmd(["podman", "--runtime", runtime, ...globals(), "run", "--rm", image, "sh", "-c", "exit 3"], {
      timeoutMs: 30_000,
      env,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(3);
  });

  test("run -d, exec, pause/unpause, update, stop, rm", async () => {
    const n = name("long");
    const script = "trap 'exit 0' TERM; while :; do sleep 1 & wait $!; done";
    await ok(["podman", ...globals(), "run", "-d", "--name", n, image, "sh", "-c", script], { env: { CONTAINERS_CONF: conf } });
    expect(await state(n)).toBe("running");

    const ex = await podman(["exec", n, "sh", "-c", "echo in $(cat /proc/1/comm); exit 3"]);
    expect(ex.stdout).toBe("in sh\n");
    expect(ex.code).toBe(3);

    expect((await podman(["pause", n])).code).toBe(0);
    expect(await state(n)).toBe("paused");
    expect((await podman(["unpause", n])).code).toBe(0);
    expect(await state(n)).toBe("running");

    // podman update is `dx-runtime update --resources -`; v1 and v2 name the file differently.
    expect((await podman(["update", "--memory", "64m", n])).code).toBe(0);
    const limit = await podman(["exec", n, "sh", "-c", "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"]);
    expect(limit.stdout.trim()).toBe(String(64 * 1024 * 1024));

    const top = await podman(["top", n, "pid", "args"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("sh -c");

    // The trap makes SIGTERM enough: a stop that needed SIGKILL would report 137.
    const st = await podman(["stop", "-t", "10", n]);
    expect(st.code).toBe(0);
    expect(await state(n)).toBe("exited");
    expect((await podman(["inspect", "--format", "{{.State.ExitCode}}", n])).stdout.trim()).toBe("0");
    expect((await podman(["rm", n])).code).toBe(0);
    expect((await podman(["ps", "-a", "-q", "--filter", `name=${n}`])).stdout.trim()).toBe("");
    made.delete(n);
  });

  // The runtime creates the network namespace and adds no interface: lo must be up, as
  // runc brings it up, or nothing in the container can talk to 127.0.0.1.
  const LOOPBACK_ROUND_TRIP = "(echo pong | nc -l -p 7777 127.0.0.1 >/dev/null &); sleep 0.3; echo ping | nc -w 2 127.0.0.1 7777";

  test("podman run --network none: lo is up and 127.0.0.1 answers", async () => {
    const r = await podman(["run", "--rm", "--network", "none", image, "sh", "-c", `cat /sys/class/net/lo/flags; ${LOOPBACK_ROUND_TRIP}`]);
    expect(r.code).toBe(0);
    const [flags, reply] = r.stdout.trim().split("\n");
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    expect(reply).toBe("pong");
  });

  test("a pod without CNI: two containers reach each other on 127.0.0.1", async () => {
    // The pod's containers join its infra container's netns, which the runtime created
    // bare. No registry for a pause image: the test image, whose command only waits.
    const pause = testImage(dir, { name: "docker.io/library/dx-pause:latest", cmd: ["sleep", "1000000"] });
    await ok(["podman", ...globals(), "load", "-i", pause.tar], { timeoutMs: 120_000, env: { CONTAINERS_CONF: conf } });
    const pod = name("pod");
    const server = name("lo-server");
    const created = await podman(["pod", "create", "--name", pod, "--network", "none", "--infra-image", pause.name]);
    expect(created.code).toBe(0);
    try {
      await ok(["podman", ...globals(), "run", "-d", "--pod", pod, "--name", server, image, "sh", "-c", "echo pong | nc -l -p 7777 127.0.0.1; sleep 1000"], {
        env: { CONTAINERS_CONF: conf },
      });
      await waitUntil("the server to listen", async () => (await podman(["exec", server, "sh", "-c", "netstat -ltn | grep -q :7777"])).code === 0);
      const r = await podman(["run", "--rm", "--pod", pod, image, "sh", "-c", "echo ping | nc -w 2 127.0.0.1 7777"]);
      expect(r.code).toBe(0);
      expect(r.stdout.trim()).toBe("pong");
    } finally {
      await podman(["pod", "rm", "-f", "-t", "0", pod], 60_000);
      made.delete(server);
      made.delete(pod);
    }
  });

  test("podman exec -it: a terminal for an exec", async () => {
    const n = name("exec-tty");
    await ok(["podman", ...globals(), "run", "-d", "--name", n, image, "sleep", "1000"], { env: { CONTAINERS_CONF: conf } });
    const r = await onPty(["podman", ...globals(), "exec", "-it", n, "sh"], "echo exec-tty-$((6*7)); tty; exit 6\n", {
      env: { CONTAINERS_CONF: conf },
    });
    expect(r.stdout).toMatch(/exec-tty-42\r?\r\n/);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r?\r\n/);
    expect(r.code).toBe(6);
    expect((await podman(["rm", "-f", "-t", "0", n])).code).toBe(0);
    made.delete(n);
  });

  test("podman run -it: a terminal in, a terminal out", async () => {
    const r = await onPty(["podman", ...globals(), "run", "--rm", "-it", image, "sh"], "echo tty-$((6*7)); tty; exit 5\n", {
      env: { CONTAINERS_CONF: conf },
    });
    expect(r.stdout).toMatch(/tty-42\r?\r\n/);
    expect(r.stdout).toMatch(/\/dev\/pts\/0\r?\r\n/);
    expect(r.code).toBe(5);
  });
});

describe("podman devices through dx-runtime", () => {
  test("--device passes the host node with its mode (podman writes fileMode with S_IFCHR)", async () => {
    for (const dev of ["/dev/fuse", "/dev/loop-control"]) {
      if (!fs.existsSync(dev)) continue;
      const st = fs.statSync(dev);
      const want = `character special file ${(st.mode & 0o777).toString(8)} ${(st.rdev >> 8).toString(16)}:${(st.rdev & 0xff).toString(16)}\n`;
      const r = await podman(["run", "--rm", "--device", dev, image, "stat", "-c", "%F %a %t:%T", dev]);
      expect(r.stderr).toBe("");
      expect(r.stdout).toBe(want);
      expect(r.code).toBe(0);
    }
  });
});
