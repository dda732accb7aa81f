// The few systemd manager calls the driver makes, over D-Bus. The client library is
// loaded here and only here, when a container is placed in or removed from a unit.

export type Variant = [string, unknown];
export type Property = [string, Variant];

interface RawBus {
  invoke(msg: Record<string, unknown>, cb: (err: any, ...body: any[]) => void): void;
  addMatch(match: string, cb: (err: any) => void): void;
  signals: { on(ev: string, f: (body: any[]) => void): void };
  connection: { on(ev: string, f: (e: any) => void): void; end(): void };
}

const DEST = "org.freedesktop.systemd1";
const PATH = "/org/freedesktop/systemd1";
const MANAGER = "org.freedesktop.systemd1.Manager";
const JOB_REMOVED = JSON.stringify({ path: PATH, interface: MANAGER, member: "JobRemoved" });

/** How long a start or stop job may take before the runtime gives up on it (runc: 30 s). */
const JOB_TIMEOUT_MS = 30_000;

export class SystemdError extends Error {
  constructor(
    message: string,
    readonly dbusName?: string,
  ) {
    super(message);
  }
}

/**
 * The caller's uid outside any user namespace: what the bus sees on the socket, and
 * whose manager a rootless caller (uid 0 in podman's namespace) talks to.
 */
export function hostUid(): number {
  const uid = process.getuid!();
  try {
    const map = require("node:fs").readFileSync("/proc/self/uid_map", "utf8") as string;
    for (const line of map.split("\n")) {
      const [inside, outside, count] = line.trim().split(/\s+/).map(Number) as [number, number, number];
      if (count && uid >= inside && uid < inside + count) return outside + (uid - inside);
    }
  } catch {}
  return uid;
}

/** The user's own manager for a rootless caller, else the system manager. */
export function busAddress(user: boolean): string {
  if (!user) return process.env.DBUS_SYSTEM_BUS_ADDRESS || "unix:path=/run/dbus/system_bus_socket";
  if (process.env.DBUS_SESSION_BUS_ADDRESS) return process.env.DBUS_SESSION_BUS_ADDRESS;
  const run = process.env.XDG_RUNTIME_DIR || `/run/user/${hostUid()}`;
  return `unix:path=${run}/bus`;
}

export class SystemdBus {
  private jobs = new Map<string, (result: string) => void>();
  /** results of jobs whose signal came before the reply that named them */
  private finished = new Map<string, string>();
  private failed?: Error;
  /** rejecters of the calls awaiting a reply */
  private waiting = new Set<(e: Error) => void>();

  private constructor(private bus: RawBus) {
    const lost = (e: any) => {
      this.failed ??= new SystemdError(`dbus: ${e?.message ?? e}`);
      // Nothing more will come back on this connection.
      for (const r of this.waiting) r(this.failed);
      this.waiting.clear();
      for (const settle of this.jobs.values()) settle("connection lost");
    };
    bus.connection.on("error", lost);
    bus.connection.on("end", () => lost("connection closed"));
    bus.signals.on(JOB_REMOVED, (body) => {
      const [, job, , result] = body as [number, string, string, string];
      const waiter = this.jobs.get(job);
      if (waiter) waiter(result);
      else this.finished.set(job, result);
    });
  }

  static async connect(user: boolean): Promise<SystemdBus> {
    const lib: any = await import("@homebridge/dbus-native");
    const dbus = lib.default ?? lib;
    const address = busAddress(user);
    // EXTERNAL authentication names the uid the bus sees on the socket; the library
    // sends process.getuid() (read as the client is made), which in a user namespace
    // is not that one.
    const outside = hostUid();
    const getuid = process.getuid;
    let raw: RawBus;
    try {
      if (outside !== process.getuid!()) process.getuid = () => outside;
      raw = dbus.createClient({ busAddress: address });
    } catch (e: any) {
      throw new SystemdError(`dbus: connect ${address}: ${e?.message ?? e}`);
    } finally {
      process.getuid = getuid;
    }
    const b = new SystemdBus(raw);
    await new Promise<void>((resolve, reject) => {
      b.waiting.add(reject);
      raw.addMatch(`type='signal',sender='${DEST}',path='${PATH}',interface='${MANAGER}',member='JobRemoved'`, (err) => {
        b.waiting.delete(reject);
        if (err) reject(new SystemdError(`dbus: connect ${address}: ${err.message || err.name || err}`));
        else resolve();
      });
    })
      .catch((e) => {
        b.close();
        throw b.failed ?? e;
      });
    // systemd emits job signals only while some client is subscribed.
    await b.call("Subscribe", "", []);
    return b;
  }

  call(member: string, signature: string, body: unknown[], iface = MANAGER, path = PATH): Promise<any[]> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiting.add(reject);
      this.bus.invoke({ destination: DEST, path, interface: iface, member, signature, body }, (err, ...out) => {
        this.waiting.delete(reject);
        if (err) reject(new SystemdError(`systemd ${member}: ${err.message || err.name || String(err)}`, err.name));
        else resolve(out);
      });
    });
  }

  /** Calls a method that returns a job, and waits for the job to finish. */
  async job(member: string, signature: string, body: unknown[]): Promise<string> {
    let settle!: (r: string) => void;
    const done = new Promise<string>((resolve) => (settle = resolve));
    const [job] = (await this.call(member, signature, body)) as [string];
    const early = this.finished.get(job);
    if (early !== undefined) return early;
    this.jobs.set(job, settle);
    const timer = setTimeout(() => settle("timeout"), JOB_TIMEOUT_MS);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
      this.jobs.delete(job);
    }
  }

  /** One property of a unit, through org.freedesktop.DBus.Properties. */
  async unitProperty(unit: string, iface: string, name: string): Promise<unknown> {
    const [path] = await this.call("GetUnit", "s", [unit]);
    const [v] = await this.call("Get", "ss", [iface, name], "org.freedesktop.DBus.Properties", path);
    return Array.isArray(v) ? v[1]?.[0] : v;
  }

  close(): void {
    try {
      this.bus.connection.end();
    } catch {}
  }
}
