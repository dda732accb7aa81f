// CRIU's RPC, as runc drives it: `criu swrk 3` with one end of a seqpacket socketpair at
// fd 3, a criu_req per packet, a criu_resp per packet back, notifications answered in
// between. The messages are encoded by protobufjs from criu-rpc.proto; this module is
// only ever loaded by checkpoint and restore.
import protobuf from "protobufjs";
import schema from "./criu-rpc.proto" with { type: "text" };
import { close, recvWithFd } from "../native/libc";
import { RuntimeError } from "../errors";
import { debug, debugOn } from "../log";
import { seqpacketPair, shutdownWrite, writePacket } from "./sys";

let types: { req: protobuf.Type; resp: protobuf.Type } | undefined;
function T() {
  if (types) return types;
  const root = protobuf.parse(schema, { keepCase: true }).root;
  return (types = { req: root.lookupType("criu_req"), resp: root.lookupType("criu_resp") });
}

/** criu_opts as a plain object, field names as in the .proto. */
export type CriuOpts = Record<string, unknown>;

export interface CriuReq {
  type: string;
  opts?: CriuOpts;
  notify_success?: boolean;
  features?: { mem_track?: boolean; lazy_pages?: boolean };
}

export interface CriuResp {
  type: string;
  success: boolean;
  cr_errno?: number;
  cr_errmsg?: string;
  notify?: { script?: string; pid?: number };
  restore?: { pid: number };
  features?: { mem_track?: boolean; lazy_pages?: boolean };
  version?: { major_number: number; minor_number: number; sublevel?: number; gitid?: string };
}

export interface SwrkOptions {
  criu: string;
  /** fds 0-2 of criu: what a restored process inherits through inherit_fd */
  stdio?: (number | "inherit" | "ignore")[];
  /** fds 4, 5, ... of criu (3 is the socket) */
  extraFds?: number[];
  /** criu's log, named in a failure */
  logPath?: string;
  /** criu is running, the request not yet sent (restore puts it into the cgroup here) */
  started?(pid: number): void | Promise<void>;
  /** a notification; `fd` is one passed with it (orphan-pts-master), else -1 */
  notify?(script: string, pid: number, fd: number): void | Promise<void>;
}

export function encodeReq(req: CriuReq): Uint8Array {
  const t = T().req;
  return t.encode(t.fromObject(req)).finish();
}

export function decodeResp(data: Uint8Array): CriuResp {
  const t = T().resp;
  return t.toObject(t.decode(data), { enums: String, longs: Number }) as CriuResp;
}

/** Runs one request through a fresh `criu swrk` and returns its final response. */
export async function swrk(req: CriuReq, o: SwrkOptions): Promise<CriuResp> {
  const [client, server] = seqpacketPair();
  const stdio: unknown[] = [...(o.stdio ?? ["ignore", "ignore", "inherit"]), server, ...(o.extraFds ?? [])];
  let proc: ReturnType<typeof Bun.spawn>;
  try {
    proc = Bun.spawn([o.criu, "swrk", "3"], { stdio: stdio as any, env: process.env });
  } catch (e: any) {
    close(client);
    close(server);
    // Go's words, as runc reports them: a path that is not there, or a name not in $PATH.
    if (e?.code === "ENOENT")
      throw new RuntimeError(o.criu.includes("/") ? `fork/exec ${o.criu}: no such file or directory` : `exec: "${o.criu}": executable file not found in $PATH`);
    throw new RuntimeError(`exec ${o.criu}: ${e?.message ?? e}`);
  }
  // Ours goes now, so a criu that dies is an EOF here rather than a hang.
  close(server);
  let final: CriuResp | undefined;
  try {
    await o.started?.(proc.pid);
    if (debugOn) debug(`criu: pid ${proc.pid}, request ${req.type}`);
    writePacket(client, encodeReq(req));
    for (;;) {
      const m = recvWithFd(client, 10 * 4096);
      if (!m) throw new RuntimeError(`criu failed: type ${req.type}: unexpected EOF${o.logPath ? `\nlog file: ${o.logPath}` : ""}`);
      const resp = decodeResp(m.data);
      if (!resp.success) {
        if (m.fd >= 0) close(m.fd);
        const why = resp.cr_errmsg ? `: ${resp.cr_errmsg}` : "";
        throw new RuntimeError(`criu failed: type ${req.type} errno ${resp.cr_errno ?? 0}${why}${o.logPath ? `\nlog file: ${o.logPath}` : ""}`);
      }
      if (resp.type === "NOTIFY") {
        const script = resp.notify?.script ?? "";
        if (debugOn) debug(`criu: notify ${script} pid ${resp.notify?.pid ?? 0}`);
        try {
          await o.notify?.(script, resp.notify?.pid ?? 0, m.fd);
        } finally {
          if (m.fd >= 0) close(m.fd);
        }
        writePacket(client, encodeReq({ type: "NOTIFY", notify_success: true }));
        continue;
      }
      if (!["FEATURE_CHECK", "VERSION", "DUMP", "PRE_DUMP", "RESTORE"].includes(resp.type))
        throw new RuntimeError(`criu: unexpected response ${resp.type}`);
      final = resp;
      break;
    }
  } finally {
    shutdownWrite(client);
    close(client);
    if (!final) {
      try {
        proc.kill(9);
      } catch {}
    }
  }
  const code = await proc.exited;
  // After a pre-dump criu waits for a dump that never comes: its exit says nothing.
  if (code !== 0 && req.type !== "PRE_DUMP" && req.type !== "VERSION" && req.type !== "FEATURE_CHECK")
    throw new RuntimeError(`criu failed: exit status ${code}${o.logPath ? `\nlog file: ${o.logPath}` : ""}`);
  return final;
}

/** CRIU's version as one number (3.17.1 → 31701), as runc compares it. */
export async function criuVersion(criu: string): Promise<number> {
  let r: CriuResp;
  try {
    r = await swrk({ type: "VERSION" }, { criu });
  } catch (e: any) {
    throw new RuntimeError(`CRIU version check failed: ${e.message}`);
  }
  const v = r.version;
  if (!v) throw new RuntimeError("CRIU version check failed: no version in criu's answer");
  let n = v.major_number * 10000 + v.minor_number * 100 + (v.sublevel ?? 0);
  // A build from git is ahead of its last release.
  if (v.gitid) n = n - (n % 100) + 100;
  return n;
}

export async function requireCriu(criu: string, min: number): Promise<number> {
  const v = await criuVersion(criu);
  if (v < min) throw new RuntimeError(`CRIU version ${v} must be ${min} or higher`);
  return v;
}

/** FEATURE_CHECK: throws unless criu has every feature asked for. */
export async function requireFeatures(criu: string, opts: CriuOpts, features: { mem_track?: boolean; lazy_pages?: boolean }): Promise<void> {
  let r: CriuResp;
  try {
    r = await swrk({ type: "FEATURE_CHECK", opts, features }, { criu });
  } catch {
    throw new RuntimeError("CRIU feature check failed");
  }
  const got = r.features ?? {};
  for (const k of Object.keys(features) as (keyof typeof features)[]) {
    if (features[k] && got[k] === false) throw new RuntimeError(`CRIU is missing features: ${k}`);
  }
}
