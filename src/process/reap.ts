import { close, pidfdOpen, pidfdSendSignal, pollIn } from "../native/libc";

/** SIGKILL through a pidfd (so a recycled pid is never hit) and wait until it is gone. */
export function killAndWait(pid: number, timeoutMs = 5000): void {
  let fd: number;
  try {
    fd = pidfdOpen(pid);
  } catch {
    return;
  }
  try {
    try {
      pidfdSendSignal(fd, 9);
    } catch {}
    pollIn(fd, timeoutMs);
  } finally {
    close(fd);
  }
}
