// delete's way to the unit of a --systemd-cgroup container: loaded only for those.
import { closeBus, stopUnitOfPaths as stop } from "./manager";

export async function stopUnitOfPaths(paths: Record<string, string>): Promise<void> {
  try {
    await stop(paths);
  } finally {
    closeBus();
  }
}
