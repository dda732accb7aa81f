// Builds an OCI image layout tarball from the shared busybox rootfs, with no registry:
// oci-layout, index.json and blobs (config, manifest, one gzip'd layer). Engines import it
// with `ctr images import` or `podman load`.
//
//   bun test/engines/image.ts OUT.tar [NAME]
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { spawnSync } from "node:child_process";
import { rootfsDir } from "../lib/rootfs";

export const IMAGE_NAME = "docker.io/library/dx-busybox:latest";

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface BuiltImage {
  tar: string;
  name: string;
  manifestDigest: string;
}

function sha256(data: Buffer): string {
  return "sha256:" + crypto.createHash("sha256").update(data).digest("hex");
}

function run(cmd: string[]): Buffer {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * The rootfs as one uncompressed tar. Sorted names, numeric owners and a fixed mtime keep
 * the digest stable between runs, so re-importing the same image is a no-op.
 */
function layerTar(rootfs: string): Buffer {
  return run([
    "tar", "-C", rootfs, "--sort=name", "--numeric-owner", "--mtime=@0",
    "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
    "-cf", "-", ".",
  ]);
}

export interface ImageOptions {
  /** Full reference the engines list it under. */
  name?: string;
  /** The image's default command. */
  cmd?: string[];
  rootfs?: string;
}

/** Writes the image layout as a tarball at `out` and returns what engines need to find it. */
export function buildImage(out: string, opts: ImageOptions = {}): BuiltImage {
  const name = opts.name ?? IMAGE_NAME;
  const rootfs = opts.rootfs ?? rootfsDir();
  const layout = `${out}.layout-${process.pid}`;
  fs.rmSync(layout, { recursive: true, force: true });
  const blobs = path.join(layout, "blobs", "sha256");
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer, mediaType: string): Descriptor => {
    const digest = sha256(data);
    fs.writeFileSync(path.join(blobs, digest.slice("sha256:".length)), data);
    return { mediaType, digest, size: data.length };
  };

  const raw = layerTar(rootfs);
  // mtime 0 in the gzip header for the same stable-digest reason.
  const layer = put(zlib.gzipSync(raw, { level: 6 }), "application/vnd.oci.image.layer.v1.tar+gzip");
  const created = "1970-01-01T00:00:00Z";
  const config = put(
    Buffer.from(
      JSON.stringify({
        created,
        architecture: "amd64",
        os: "linux",
        config: {
          Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
          Cmd: opts.cmd ?? ["sh"],
          WorkingDir: "/",
        },
        rootfs: { type: "layers", diff_ids: [sha256(raw)] },
        history: [{ created, created_by: "test/engines/image.ts: busybox-static rootfs" }],
      }),
    ),
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config,
        layers: [layer],
      }),
    ),
    "application/vnd.oci.image.manifest.v1+json",
  );
  // containerd names the image from io.containerd.image.name; podman from ref.name, which
  // it takes as a full reference when it contains a name rather than just a tag.
  manifest.annotations = {
    "io.containerd.image.name": name,
    "org.opencontainers.image.ref.name": name,
  };
  fs.writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  fs.writeFileSync(
    path.join(layout, "index.json"),
    JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [manifest] }),
  );

  fs.mkdirSync(path.dirname(out), { recursive: true });
  run(["tar", "-C", layout, "--sort=name", "--numeric-owner", "--owner=0", "--group=0", "-cf", out, "oci-layout", "index.json", "blobs"]);
  fs.rmSync(layout, { recursive: true, force: true });
  return { tar: out, name, manifestDigest: manifest.digest };
}

if (import.meta.main) {
  const out = process.argv[2];
  if (!out) {
    console.error("usage: bun test/engines/image.ts OUT.tar [NAME]");
    process.exit(2);
  }
  const img = buildImage(path.resolve(out), { name: process.argv[3] ?? IMAGE_NAME });
  console.log(`${img.tar}: ${img.name} ${img.manifestDigest}`);
}
