export { compileSeccomp, type CompiledSeccomp } from "./compile";
export type { SeccompArgInput, SeccompInput, SeccompSyscallInput } from "./config";
export { SeccompError } from "./errors";
export { seccompFeatures, type SeccompFeatures } from "./features";
export { compileSeccompCached } from "./cache";
