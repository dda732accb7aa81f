import type { Logger } from "./log";
import type { Store } from "./state/store";

/** How the runtime is asked to work, whoever asks: runc's global flags, for the CLI. */
export interface RuntimeOptions {
  systemdCgroup: boolean;
  /** true|false|auto (src/rootless/detect.ts); undefined is auto */
  rootless?: string;
  /** the criu binary checkpoint and restore run (default: criu from $PATH) */
  criu?: string;
}

/** What every operation gets: the options, the logger and the state store. */
export interface Context {
  options: RuntimeOptions;
  log: Logger;
  store: Store;
}
