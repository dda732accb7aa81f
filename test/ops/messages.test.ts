// Where dx-runtime refuses what runc refuses, it says it in runc's words: engines and
// their users search for them (runc's own tests assert these).
import { expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";
import { makeBundle, oneErrorLine, rt, uniqueId, useHarness } from "../lib/harness";

useHarness("messages");

for (const [dir, fstype] of [["proc", "proc"], ["sys", "sysfs"]] as const) {
  test(`a rootfs whose /${dir} is a symlink: "${fstype}" must be mounted on an ordinary directory`, async () => {
    const b = makeBundle({ args: ["true"] });
    fs.rmSync(path.join(b.rootfs, dir), { recursive: true, force: true });
    fs.symlinkSync("/symlink", path.join(b.rootfs, dir));
    const line = oneErrorLine(await rt(["run", "--bundle", b.dir, uniqueId()]));
    expect(line).toContain(`filesystem "${fstype}" must be mounted on ordinary directory`);
  });
}

test("a rootfs whose /proc is a file: the same", async () => {
  const b = makeBundle({ args: ["true"] });
  fs.rmSync(path.join(b.rootfs, "proc"), { recursive: true, force: true });
  fs.writeFileSync(path.join(b.rootfs, "proc"), "");
  const line = oneErrorLine(await rt(["run", "--bundle", b.dir, uniqueId()]));
  expect(line).toContain('filesystem "proc" must be mounted on ordinary directory');
});
