// Generates TypeScript types for config.json, state and features from the
// runtime-spec JSON schemas.
//
//   bun scripts/gen-types.ts [OUT_DIR]     (default: src/spec)
//
// Writes types.gen.ts into OUT_DIR. src/spec/types.ts gives the rest of the
// code friendly names for these.

import { mkdirSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { compile, type JSONSchema } from "json-schema-to-typescript";
import { readSchemaFile } from "./schema-source";

const root = resolve(import.meta.dir, "..");
const schemaDir = join(root, "schemas");
const outDir = resolve(process.argv[2] ?? join(root, "src/spec"));

// The schemas name few of their inline objects, and several files define a
// "Device" or "NamespaceReference" of their own. Titles given here (in memory
// only) become the generated type names, so that they read like the Go names
// of the runtime-spec (specs-go) instead of Device1, Linux1, ...
const titles: Record<string, Record<string, string>> = {
  "config-schema.json": {
    "": "Spec",
    "/properties/hooks": "Hooks",
    "/properties/root": "Root",
    "/properties/process": "Process",
    "/properties/process/properties/consoleSize": "Box",
    "/properties/process/properties/user": "User",
    "/properties/process/properties/capabilities": "LinuxCapabilities",
    "/properties/process/properties/ioPriority": "LinuxIOPriority",
    "/properties/process/properties/scheduler": "Scheduler",
    "/properties/process/properties/rlimits/items": "POSIXRlimit",
    "/properties/process/properties/execCPUAffinity": "CPUAffinity",
  },
  "config-linux.json": {
    "/linux": "Linux",
    "/linux/properties/resources": "LinuxResources",
    "/linux/properties/resources/properties/pids": "LinuxPids",
    "/linux/properties/resources/properties/blockIO": "LinuxBlockIO",
    "/linux/properties/resources/properties/cpu": "LinuxCPU",
    "/linux/properties/resources/properties/hugepageLimits/items": "LinuxHugepageLimit",
    "/linux/properties/resources/properties/memory": "LinuxMemory",
    "/linux/properties/resources/properties/network": "LinuxNetwork",
    "/linux/properties/seccomp": "LinuxSeccomp",
    "/linux/properties/intelRdt": "LinuxIntelRdt",
    "/linux/properties/memoryPolicy": "LinuxMemoryPolicy",
    "/linux/properties/timeOffsets": "LinuxTimeOffsets",
  },
  "defs.json": {
    "/definitions/IDMapping": "LinuxIDMapping",
    "/definitions/mapStringString": "MapStringString",
  },
  "defs-linux.json": {
    "/definitions/Device": "LinuxDevice",
    "/definitions/DeviceCgroup": "LinuxDeviceCgroup",
    "/definitions/NetDevice": "LinuxNetDevice",
    "/definitions/NamespaceReference": "LinuxNamespace",
    "/definitions/NamespaceType": "LinuxNamespaceType",
    "/definitions/Syscall": "LinuxSyscall",
    "/definitions/SyscallArg": "LinuxSeccompArg",
    "/definitions/SeccompAction": "LinuxSeccompAction",
    "/definitions/SeccompArch": "LinuxSeccompArch",
    "/definitions/SeccompFlag": "LinuxSeccompFlag",
    "/definitions/SeccompOperators": "LinuxSeccompOperator",
    "/definitions/Personality": "LinuxPersonality",
    "/definitions/TimeOffsets": "LinuxTimeOffset",
    "/definitions/Rdma": "LinuxRdma",
    "/definitions/NetworkInterfacePriority": "LinuxInterfacePriority",
    "/definitions/blockIODevice": "LinuxBlockIODevice",
    "/definitions/blockIODeviceWeight": "LinuxWeightDevice",
    "/definitions/blockIODeviceThrottle": "LinuxThrottleDevice",
  },
  "config-windows.json": { "/windows": "Windows" },
  "defs-windows.json": { "/definitions/Device": "WindowsDevice" },
  "config-freebsd.json": { "/freebsd": "FreeBSD" },
  "defs-freebsd.json": { "/definitions/Device": "FreeBSDDevice" },
  "config-zos.json": { "/zos": "ZOS" },
  "defs-zos.json": { "/definitions/NamespaceReference": "ZOSNamespace" },
  "config-solaris.json": { "/solaris": "Solaris" },
  "config-vm.json": { "/vm": "VM" },
  "state-schema.json": { "": "State" },
  "features-schema.json": { "": "Features" },
  "features-linux.json": { "/linux": "LinuxFeatures" },
};

function at(doc: Record<string, unknown>, pointer: string, file: string): Record<string, unknown> {
  let node: unknown = doc;
  for (const part of pointer.split("/").slice(1)) {
    node = (node as Record<string, unknown> | undefined)?.[part];
  }
  if (typeof node !== "object" || node === null) {
    throw new Error(`${file}#${pointer}: no such schema (update the titles in gen-types.ts)`);
  }
  return node as Record<string, unknown>;
}

function readSchema(file: string): Record<string, unknown> {
  const doc = readSchemaFile(schemaDir, file);
  for (const [pointer, title] of Object.entries(titles[file] ?? {})) {
    at(doc, pointer, file).title = title;
  }
  return doc;
}

// One synthetic root pulls in all three documents, so shared definitions are
// emitted once instead of once per document.
const wrapper = {
  title: "RuntimeSpecDocuments",
  type: "object",
  properties: {
    config: { $ref: "config-schema.json" },
    state: { $ref: "state-schema.json" },
    features: { $ref: "features-schema.json" },
  },
  additionalProperties: false,
};

const body = await compile(wrapper as JSONSchema, "RuntimeSpecDocuments", {
  cwd: schemaDir + "/",
  bannerComment: "",
  additionalProperties: false,
  strictIndexSignatures: true,
  unknownAny: true,
  $refOptions: {
    resolve: {
      http: false,
      file: {
        order: 1,
        canRead: true,
        read: (f: { url: string }) => readSchema(basename(f.url)),
      },
    },
  } as never,
});

const header =
  "// Generated by scripts/gen-types.ts from schemas/*.json. Do not edit.\n" +
  "// Use the names in ./types.ts.\n\n";

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "types.gen.ts"), header + body);
