// One call per test file wires the suite root, per-test tracking and the leak check:
//
//   useHarness("lifecycle");
//   test("...", async () => { const b = makeBundle(...); const id = uniqueId(); await rt([...]); });
import { afterAll, afterEach, beforeAll, beforeEach, setDefaultTimeout } from "bun:test";
import fs from "node:fs";
import { onNewBundle } from "./bundle";
import { expectNoLeaks, findLeaks, findCgroupLeaks, cleanLeaks, describeLeak, safeRemove, type Tracked } from "./leaks";
import { closeSuite, onNewId, openSuite, rt, RUNTIME } from "./runtime";

export * from "./runtime";
export * from "./bundle";
export * from "./containers";
export * from "./spec";
export * from "./console";
export { rootfsDir, REPO, WORK } from "./rootfs";
export { cgroupRoots } from "./leaks";

let tracked: Tracked | undefined;
let registered = false;

function track(): Tracked {
  if (!tracked) throw new Error("no test is running: ids and bundles must be made inside a test");
  return tracked;
}

/** Ids and bundles made by hand (not through uniqueId/makeBundle) can be registered here. */
export function trackId(id: string): void {
  track().ids.add(id);
}
export function trackDir(dir: string): void {
  track().dirs.add(dir);
}

export function useHarness(name: string, opts: { timeoutMs?: number } = {}): void {
  setDefaultTimeout(opts.timeoutMs ?? 60_000);
  if (!registered) {
    registered = true;
    onNewId((id) => tracked?.ids.add(id));
    onNewBundle((dir) => tracked?.dirs.add(dir));
  }
  let suiteRoot = "";
  let suiteDir = "";
  let envMarker = "";
  beforeAll(() => {
    if (!fs.existsSync(RUNTIME)) {
      throw new Error(`runtime binary ${RUNTIME} not found: run \`npm run build\` or set DX_RUNTIME`);
    }
    const s = openSuite(name);
    suiteRoot = s.root;
    suiteDir = s.dir;
    envMarker = s.envMarker;
  });
  beforeEach(() => {
    tracked = { ids: new Set(), dirs: new Set(), root: suiteRoot, envMarker };
  });
  afterEach(async () => {
    const t = tracked!;
    tracked = undefined;
    try {
      await expectNoLeaks(t);
    } finally {
      const problems: string[] = [];
      for (const d of t.dirs) safeRemove(d, problems);
      if (problems.length) throw new Error(problems.join("\n"));
    }
  });
  afterAll(async () => {
    // Anything still under the suite's state root outlived the test that made it: the
    // runtime keeps nothing there but containers.
    const left = fs.existsSync(suiteRoot) ? fs.readdirSync(suiteRoot) : [];
    const t: Tracked = { ids: new Set(left), dirs: new Set([suiteDir]), root: suiteRoot, envMarker };
    for (const id of left) await rt(["delete", "--force", id], { timeoutMs: 10_000 }).catch(() => undefined);
    const leaks = findLeaks(t);
    await cleanLeaks(leaks);
    safeRemove(suiteDir);
    closeSuite();
    if (left.length || leaks.length) {
      throw new Error(`suite ${name} left behind: ${[...left, ...leaks.map(describeLeak)].join(", ")}`);
    }
  });
}

/** Cgroup dirs (any hierarchy) named for this container id. */
export function cgroupLeaksFor(id: string): string[] {
  return findCgroupLeaks({ ids: new Set([id]), dirs: new Set(), root: "" }).map((l) =>
    l.kind === "cgroup" ? l.dir : "",
  );
}
