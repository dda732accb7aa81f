// Just enough of a Kubernetes CRI client (runtime.v1 over gRPC on a unix socket) to drive
// containerd's CRI plugin the way the kubelet does: protobuf written and read by hand
// for the few messages used, HTTP/2 from node:http2. Field numbers follow the CRI
// api.proto.
import http2 from "node:http2";
import net from "node:net";
import { hasCapSysResource } from "./engines";

/** A protobuf message: [field number, value] pairs; nested arrays are sub-messages. */
export type Msg = [number, string | number | boolean | Msg | undefined][];

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

export function encode(msg: Msg): Buffer {
  const parts: Buffer[] = [];
  for (const [no, v] of msg) {
    if (v === undefined) continue;
    if (typeof v === "number" || typeof v === "boolean") {
      parts.push(Buffer.from([...varint(BigInt(no << 3)), ...varint(BigInt(Number(v)))]));
      continue;
    }
    const body = typeof v === "string" ? Buffer.from(v) : encode(v);
    parts.push(Buffer.from([...varint(BigInt((no << 3) | 2)), ...varint(BigInt(body.length))]), body);
  }
  return Buffer.concat(parts);
}

/** A decoded message: every occurrence of each field, as raw bytes or a varint. */
export class Decoded {
  readonly fields = new Map<number, (Buffer | bigint)[]>();

  constructor(buf: Buffer) {
    let i = 0;
    const readVarint = (): bigint => {
      let v = 0n;
      let shift = 0n;
      for (;;) {
        const b = buf[i++]!;
        v |= BigInt(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
        shift += 7n;
      }
    };
    while (i < buf.length) {
      const key = Number(readVarint());
      const no = key >> 3;
      let val: Buffer | bigint;
      switch (key & 7) {
        case 0:
          val = readVarint();
          break;
        case 1:
          val = buf.subarray(i, i + 8);
          i += 8;
          break;
        case 2: {
          const len = Number(readVarint());
          val = buf.subarray(i, i + len);
          i += len;
          break;
        }
        case 5:
          val = buf.subarray(i, i + 4);
          i += 4;
          break;
        default:
          throw new Error(`protobuf: wire type ${key & 7} not handled`);
      }
      const list = this.fields.get(no) ?? [];
      list.push(val);
      this.fields.set(no, list);
    }
  }

  str(no: number): string {
    const v = this.fields.get(no)?.[0];
    return v instanceof Buffer ? v.toString("utf8") : "";
  }
  bytes(no: number): Buffer {
    const v = this.fields.get(no)?.[0];
    return v instanceof Buffer ? v : Buffer.alloc(0);
  }
  /** Varint fields, read as int32/int64 (two's complement for negatives). */
  int(no: number): number {
    const v = this.fields.get(no)?.[0];
    return typeof v === "bigint" ? Number(BigInt.asIntN(64, v)) : 0;
  }
  msg(no: number): Decoded {
    return new Decoded(this.bytes(no));
  }
}

export class GrpcError extends Error {
  constructor(
    readonly method: string,
    readonly status: number,
    readonly detail: string,
  ) {
    super(`${method}: grpc status ${status}: ${detail}`);
  }
}

export class CriClient {
  private session: http2.ClientHttp2Session;

  constructor(socket: string) {
    this.session = http2.connect("http://localhost", { createConnection: () => net.connect(socket) });
    this.session.on("error", () => {});
  }

  close(): void {
    this.session.close();
  }

  /** One unary call; rejects with GrpcError on a non-zero grpc-status. */
  call(service: "RuntimeService" | "ImageService", method: string, req: Msg, timeoutMs = 30_000): Promise<Decoded> {
    const body = encode(req);
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    const path = `/runtime.v1.${service}/${method}`;
    return new Promise((resolve, reject) => {
      const stream = this.session.request({
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": `${timeoutMs}m`,
      });
      const chunks: Buffer[] = [];
      let status: string | undefined;
      let detail = "";
      const onHeaders = (h: http2.IncomingHttpHeaders) => {
        if (h["grpc-status"] !== undefined) {
          status = String(h["grpc-status"]);
          detail = decodeURIComponent(String(h["grpc-message"] ?? ""));
        }
      };
      const timer = setTimeout(() => {
        stream.close(http2.constants.NGHTTP2_CANCEL);
        reject(new GrpcError(path, 4, "deadline exceeded (client)"));
      }, timeoutMs + 5_000);
      stream.on("response", onHeaders);
      stream.on("trailers", onHeaders);
      stream.on("data", (c: Buffer) => chunks.push(c));
      stream.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      stream.on("close", () => {
        clearTimeout(timer);
        if (status !== "0") return reject(new GrpcError(path, Number(status ?? -1), detail));
        const all = Buffer.concat(chunks);
        resolve(new Decoded(all.length >= 5 ? all.subarray(5, 5 + all.readUInt32BE(1)) : Buffer.alloc(0)));
      });
      stream.end(frame);
    });
  }
}

/** NamespaceMode.NODE: the host's namespace, so the pod needs no CNI network. */
export const NODE = 2;

export const ContainerState = { CREATED: 0, RUNNING: 1, EXITED: 2, UNKNOWN: 3 } as const;

export interface PodSpec {
  name: string;
  uid: string;
  namespace: string;
  logDirectory: string;
}

/** PodSandboxConfig for a pod on the host network (no CNI needed). */
export function podSandboxConfig(p: PodSpec): Msg {
  return [
    [1, [[1, p.name], [2, p.uid], [3, p.namespace], [4, 0]]],
    [3, p.logDirectory],
    [8, [[2, [[1, [[1, NODE], [2, 0], [3, 0]]]]]]],
  ];
}

/** runtime.v1 MountPropagation */
export const Propagation = { PRIVATE: 0, HOST_TO_CONTAINER: 1, BIDIRECTIONAL: 2 } as const;

export interface ContainerSpec {
  name: string;
  image: string;
  command: string[];
  logPath: string;
  workingDir?: string;
  mounts?: { containerPath: string; hostPath: string; propagation: number }[];
  /** capabilities to add, as the kubelet names them ("SYS_ADMIN") */
  addCaps?: string[];
}

export function containerConfig(c: ContainerSpec): Msg {
  const m: Msg = [
    [1, [[1, c.name], [2, 0]]],
    [2, [[1, c.image]]],
    ...c.command.map((a): [number, string] => [3, a]),
  ];
  if (c.workingDir) m.push([5, c.workingDir]);
  for (const x of c.mounts ?? []) m.push([7, [[1, x.containerPath], [2, x.hostPath], [5, x.propagation]]]);
  m.push([11, c.logPath]);
  if (c.addCaps?.length) m.push([15, [[2, [[1, c.addCaps.map((k): [number, string] => [1, k])]]]]]);
  return m;
}

/**
 * The head of containerd's CRI plugin section for a private daemon in `dir`: the pause
 * image, the CNI dirs under `dir`, and the oom_score_adj containerd asks for every
 * sandbox (-998; going below our own value needs CAP_SYS_RESOURCE, which runc needs just
 * the same). The runtime handlers follow it.
 */
export function criPluginHead(dir: string, pauseImage: string): string[] {
  return [
    `[plugins."io.containerd.grpc.v1.cri"]`,
    `  sandbox_image = "${pauseImage}"`,
    ...(hasCapSysResource() ? [] : ["  restrict_oom_score_adj = true"]),
    `  [plugins."io.containerd.grpc.v1.cri".cni]`,
    `    bin_dir = "${dir}/cni/bin"`,
    `    conf_dir = "${dir}/cni/conf"`,
  ];
}
