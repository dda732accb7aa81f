// The runtime-spec schemas as both generators read them. The published files are kept
// verbatim; what differs is applied here, in memory:
//  - the one upstream typo that breaks reference resolution;
//  - what runc accepts beyond the schema and engines write: the recursive root
//    propagations (containerd sets "rshared"/"rslave" for Kubernetes volumes) and a
//    device fileMode carrying the file-type bits (podman writes 8576, S_IFCHR|0600),
//    of which only the permission bits are used.
import { readFileSync } from "node:fs";
import { join } from "node:path";

type Json = Record<string, any>;

const relaxations: Record<string, (doc: Json) => void> = {
  "defs-linux.json": (doc) => {
    const prop = doc.definitions.RootfsPropagation;
    prop.enum = [...prop.enum, "rprivate", "rshared", "rslave", "runbindable"];
    doc.definitions.Device.properties.fileMode = { $ref: "defs.json#/definitions/uint32" };
  },
};

export function readSchemaFile(dir: string, name: string): Json {
  const text = readFileSync(join(dir, name), "utf8").replaceAll('"#definitions/', '"#/definitions/');
  const doc = JSON.parse(text) as Json;
  relaxations[name]?.(doc);
  return doc;
}
