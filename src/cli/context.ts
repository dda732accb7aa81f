import type { Globals } from "./parse";
import type { Logger } from "./log";
import type { Store } from "../state/store";

/** What every command gets: the global flags, the logger and the state store. */
export interface Context {
  g: Globals;
  log: Logger;
  store: Store;
}
