// A foreground run or exec stands in for the container's process: signals sent to the
// runtime go on to it. Returns the function that stops forwarding. SIGWINCH is not
// among them, as with runc: with a terminal it resizes the pty (tty.ts), whose kernel
// side signals the container's foreground processes itself.
import { kill } from "../native/libc";

const FORWARDED: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGTERM: 15 };

export function forwardSignals(pid: number): () => void {
  const handlers = Object.entries(FORWARDED).map(([name, sig]) => {
    const h = () => void kill(pid, sig);
    process.on(name, h);
    return [name, h] as const;
  });
  return () => {
    for (const [name, h] of handlers) process.off(name, h);
  };
}
