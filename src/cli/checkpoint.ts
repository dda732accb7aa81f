// checkpoint and restore through CRIU: the two commands' entry points.
import type minimist from "minimist";
import type { Context } from "../context";
import { oneId } from "./parse";
import { checkpoint } from "../checkpoint/checkpoint";
import { criuOptions } from "../checkpoint/options";
import { restore } from "../checkpoint/restore";

export async function checkpointCommand(ctx: Context, a: minimist.ParsedArgs): Promise<number> {
  const id = oneId("checkpoint", a);
  await checkpoint(ctx, id, () => criuOptions(a));
  return 0;
}

export async function restoreCommand(ctx: Context, a: minimist.ParsedArgs): Promise<number> {
  const id = oneId("restore", a);
  return restore(ctx, {
    ...criuOptions(a, true),
    id,
    bundle: a.bundle || undefined,
    detach: !!a.detach,
    pidFile: a["pid-file"] || undefined,
    consoleSocket: a["console-socket"] || undefined,
    noPivot: !!a["no-pivot"],
    noSubreaper: !!a["no-subreaper"],
  });
}
