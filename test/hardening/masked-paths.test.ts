// maskedPaths and readonlyPaths hold against a container with the default capabilities:
// every way to take the mask off or make the path writable again fails, and afterwards
// the masks are still in place.
import { expect, test } from "bun:test";
import { makeBundle, ok, rt, uniqueId, useHarness } from "../lib/harness";

useHarness("masked-paths");

/** One line per attempt: "<name> OK" when the command succeeded (which must never happen). */
const ATTEMPTS: Record<string, string> = {
  "umount-file": "umount /proc/keys",
  "umount-lazy-file": "umount -l /proc/timer_list",
  "umount-dir": "umount /proc/acpi",
  "umount-lazy-dir": "umount -l /sys/firmware",
  "umount-ro": "umount /proc/sys",
  "umount-lazy-ro": "umount -l /proc/bus",
  "remount-rw": "mount -o remount,rw /proc/sys",
  "remount-bind-rw": "mount -o remount,bind,rw /proc/sys",
  "remount-rw-irq": "mount -o remount,rw /proc/irq",
  "bind-over": "mount --bind /tmp /proc/sys",
  "move": "mount --move /proc/sys /tmp",
  "mount-proc": "mkdir -p /tmp/p && mount -t proc proc /tmp/p",
  "write-ro": "echo 1 > /proc/sys/kernel/ns_last_pid",
  "write-ro-dir": "touch /proc/bus/x",
  "write-tmpfs-mask": "touch /proc/acpi/x",
  "unshare-mount": "unshare -m umount /proc/keys",
};

const SCRIPT = [
  ...Object.entries(ATTEMPTS).map(([name, cmd]) => `if (${cmd}) >/dev/null 2>&1; then echo "${name} OK"; else echo "${name} denied"; fi`),
  // What is left afterwards.
  'echo "keys-size $(wc -c < /proc/keys)"',
  'echo "keys-type $(stat -c %F /proc/keys)"',
  'echo "acpi-fs $(stat -f -c %T /proc/acpi)"',
  'echo "firmware-fs $(stat -f -c %T /sys/firmware)"',
  "grep -E ' /proc/(sys|bus|irq) ' /proc/self/mountinfo | cut -d' ' -f5,6 | sed 's/^/ro-mount /'",
].join("\n");

for (const user of [0, 1000]) {
  test(`masks and read-only paths cannot be undone from inside (uid ${user}, default caps)`, async () => {
    const b = makeBundle({
      args: ["sh", "-c", SCRIPT],
      patch: (c) => {
        c.process.user = { uid: user, gid: user };
        c.process.noNewPrivileges = true;
      },
    });
    const r = ok(await rt(["run", "--bundle", b.dir, uniqueId()]));
    const lines = r.stdout.split("\n");
    for (const name of Object.keys(ATTEMPTS)) expect(lines).toContain(`${name} denied`);
    expect(lines).toContain("keys-size 0");
    expect(lines).toContain("keys-type character special file");
    expect(lines).toContain("acpi-fs tmpfs");
    expect(lines).toContain("firmware-fs tmpfs");
    const ro = lines.filter((l) => l.startsWith("ro-mount "));
    expect(ro.length).toBe(3);
    for (const l of ro) expect(l).toMatch(/ ro(,|$)/);
  });
}
