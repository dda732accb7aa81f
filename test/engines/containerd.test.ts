// containerd (its runc shim, io.containerd.runc.v2) drives dx-runtime through `ctr`.
// The test runs a private containerd (own root, state and socket, no CRI) and stops it at
// the end, whatever happened.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Containerd } from "./containerd";
import { ensureCommands, ok, onPty, runtimeBinary, testImage, waitUntil } from "./engines";

setDefaultTimeout(60_000);

const NS = "dxtest";
// The CRI plugin needs networking and a sandbox image; ctr needs neither.
const daemon = new Containerd("containerd", { cri: false });
let runtime = "";
let image = "";

function ctr(args: string[], timeoutMs = 30_000) {
  return daemon.ctr(NS, args, timeoutMs);
}

/** Like ctr, but failing loudly: for steps that only set a test up. */
function ctrOk(args: string[]) {
  return ok(["ctr", "--address", daemon.sock, "--namespace", NS, ...args]);
}

function uid(tag: string): string {
  return `dxe-${tag}-${Math.random().toString(16).slice(2, 8)}`;
}

function taskStatus(id: string): Promise<string | undefined> {
  return daemon.taskStatus(NS, id);
}

beforeAll(async () => {
  await ensureCommands({ containerd: "containerd", ctr: "containerd", python3: "python3" });
  runtime = await runtimeBinary();
  await daemon.start();
  const img = testImage(daemon.dir);
  await daemon.importImage(NS, img.tar);
  image = img.name;
}, 300_000);

afterAll(() => daemon.stop(), 120_000);

describe("containerd drives dx-runtime", () => {
  test("ctr run --rm: output and exit status", async () => {
    const id = uid("run");
    const r = await ctr(["run", "--rm", "--runc-binary", runtime, image, id, "sh", "-c", "echo hi from pid $$; exit 7"]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("hi from pid 1\n");
    expect(r.code).toBe(7);
    expect((await ctr(["container", "ls", "-q"])).stdout.split("\n")).not.toContain(id);
  });

  test("ctr run: the container's own network namespace has lo up", async () => {
    // ctr adds no interface; the runtime creates the netns and must bring lo up as runc does.
    const id = uid("lo");
    const probe = "cat /sys/class/net/lo/flags; (echo pong | nc -l -p 7777 127.0.0.1 >/dev/null &); sleep 0.3; echo ping | nc -w 2 127.0.0.1 7777";
    const r = await ctr(["run", "--rm", "--runc-binary", runtime, image, id, "sh", "-c", probe]);
    expect(r.code).toBe(0);
    const [flags, reply] = r.stdout.trim().split("\n");
    expect(Number(flags) & 1).toBe(1); // IFF_UP
    expect(reply).toBe("pong");
  });

  test("detached: task ls, exec, pause/resume, metrics, kill, delete", async () => {
    const id = uid("long");
    // A shell as pid 1 ignores SIGTERM unless it traps it.
    const script = "trap 'exit 0' TERM; echo $$ > /tmp/pid1; while :; do sleep 1 & wait $!; done";
    await ctrOk(["run", "-d", "--runc-binary", runtime, image, id, "sh", "-c", script]);
    expect(await taskStatus(id)).toBe("RUNNING");

    const ex = await ctr(["task", "exec", "--exec-id", "x1", id, "sh", "-c", "cat /tmp/pid1; echo out; echo err >&2; exit 3"]);
    expect(ex.stdout).toBe("1\nout\n");
    expect(ex.stderr).toContain("err\n");
    expect(ex.code).toBe(3);

    const ps = await ctr(["task", "ps", id]);
    expect(ps.code).toBe(0);
    expect(ps.stdout.trim().split("\n").length).toBeGreaterThanOrEqual(2);

    const p = await ctr(["task", "pause", id]);
    expect(p.stderr).toBe("");
    expect(p.code).toBe(0);
    expect(await taskStatus(id)).toBe("PAUSED");
    const r = await ctr(["task", "resume", id]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await taskStatus(id)).toBe("RUNNING");

    const m = await ctr(["task", "metrics", id]);
    expect(m.code).toBe(0);
    expect(m.stdout).toMatch(/(memory\.usage_in_bytes|memory\.current)\s+[1-9]\d*/);
    expect(m.stdout).toMatch(/pids\.current\s+[1-9]/);

    const k = await ctr(["task", "kill", id]);
    expect(k.code).toBe(0);
    await waitUntil(`${id} to stop`, async () => (await taskStatus(id)) === "STOPPED");
    const d = await ctr(["task", "delete", id]);
    expect(d.code).toBe(0);
    expect(await taskStatus(id)).toBeUndefined();
    expect((await ctr(["container", "delete", id])).code).toBe(0);
  });

  test("SIGKILL stops a container that ignores SIGTERM", async () => {
    const id = uid("kill");
    await ctrOk(["run", "-d", "--runc-binary", runtime, image, id, "sleep", "1000"]);
    expect(await taskStatus(id)).toBe("RUNNING");
    expect((await ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
    await waitUntil(`${id} to stop`, async () => (await taskStatus(id)) === "STOPPED");
    const d = await ctr(["task", "delete", id]);
    expect(d.code).toBe(0);
    expect(d.stderr).toContain("exit code 137");
    expect((await ctr(["container", "delete", id])).code).toBe(0);
  });

  test("ctr task exec -t: a terminal for an exec", async () => {
    const id = uid("exec-tty");
    await ctrOk(["run", "-d", "--runc-binary", runtime, image, id, "sleep", "1000"]);
    const r = await onPty(
      ["ctr", "--address", daemon.sock, "--namespace", NS, "task", "exec", "-t", "--exec-id", "t1", id, "sh"],
      "echo exec-tty-$((6*7)); tty; exit 6\n",
    );
    expect(r.stdout).toMatch(/exec-tty-42\r?\r\n/);
    expect(r.stdout).toMatch(/\/dev\/pts\/\d+\r?\r\n/);
    expect(r.code).toBe(6);
    expect((await ctr(["task", "kill", "-s", "SIGKILL", id])).code).toBe(0);
    await waitUntil(`${id} to stop`, async () => (await taskStatus(id)) === "STOPPED");
    expect((await ctr(["task", "delete", id])).code).toBe(0);
    expect((await ctr(["container", "delete", id])).code).toBe(0);
  });

  test("ctr run -t: a terminal in, a terminal out", async () => {
    const id = uid("tty");
    const r = await onPty(
      ["ctr", "--address", daemon.sock, "--namespace", NS, "run", "--rm", "-t", "--runc-binary", runtime, image, id, "sh"],
      "echo tty-$((6*7)); tty; exit 5\n",
    );
    expect(r.stdout).toMatch(/tty-42\r?\r\n/);
    expect(r.stdout).toMatch(/\/dev\/pts\/0\r?\r\n/);
    expect(r.code).toBe(5);
  });
});

describe("containerd: what images and ctr flags ask of the rootfs", () => {
  test("ctr run --cwd to a directory the image does not have", async () => {
    const id = uid("cwd");
    const r = await ctr(["run", "--rm", "--cwd", "/srv/app/data", "--runc-binary", runtime, image, id, "sh", "-c", "pwd; stat -c %a ."]);
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/srv/app/data\n755\n");
    expect(r.code).toBe(0);
  });
});
