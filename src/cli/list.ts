import type { Context } from "../context";
import { liveStatus, specState } from "../state/status";
import { bunProbe } from "../state/probe";
import { RuntimeError } from "../errors";
import { out } from "../output";

export async function listContainers(ctx: Context, format: string, quiet: boolean): Promise<void> {
  const rows: Record<string, unknown>[] = [];
  for (const id of ctx.store.list()) {
    try {
      const st = ctx.store.read(id);
      rows.push(specState(st, await liveStatus(ctx.store, st, bunProbe)));
    } catch {
      // a dir vanishing under us is a container deleted meanwhile
    }
  }
  if (quiet) {
    for (const r of rows) out(`${r.id}\n`);
    return;
  }
  if (format === "json") {
    out(JSON.stringify(rows) + "\n");
    return;
  }
  if (format !== "table") throw new RuntimeError(`invalid format option: ${format}`);
  const table = [["ID", "PID", "STATUS", "BUNDLE", "CREATED", "OWNER"]];
  for (const r of rows) table.push([String(r.id), String(r.pid), String(r.status), String(r.bundle), String(r.created), String(r.owner)]);
  const widths = table[0]!.map((_, c) => Math.max(12, ...table.map((row) => row[c]!.length + 3)));
  for (const row of table) out(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join("") + "\n");
}
