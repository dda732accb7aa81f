// The results table: absolute numbers per runtime, dx-runtime/runc ratios, targets.
import type { Summary } from "./stats";

export interface Row {
  metric: string;
  unit: "ms" | "KiB" | "MiB" | "count";
  /** per runtime name; undefined when not measured */
  values: Record<string, Summary | number | undefined>;
  /** dx-runtime/runc must be <= this */
  target?: number;
  /** extra condition for PASS besides the ratio (e.g. zero failures) */
  extraOk?: boolean;
  note?: string;
}

export interface Verdict {
  metric: string;
  ratio: number;
  target: number;
  pass: boolean;
}

const central = (v: Summary | number | undefined): number => (v === undefined ? NaN : typeof v === "number" ? v : v.median);

function fmt(v: Summary | number | undefined, unit: Row["unit"]): string {
  if (v === undefined) return "–";
  const num = (x: number) => (!Number.isFinite(x) ? "–" : unit === "ms" ? x.toFixed(1) : unit === "MiB" ? x.toFixed(1) : String(Math.round(x)));
  if (typeof v === "number") return num(v);
  return `${num(v.median)} / ${num(v.p90)}`;
}

export function verdicts(rows: Row[]): Verdict[] {
  return rows
    .filter((r) => r.target !== undefined)
    .map((r) => {
      const ratio = central(r.values["dx-runtime"]) / central(r.values["runc"]);
      return { metric: r.metric, ratio, target: r.target!, pass: Number.isFinite(ratio) && ratio <= r.target! && r.extraOk !== false };
    });
}

export function markdown(rows: Row[], runtimes: string[], header: string[], notes: string[]): string {
  const v = new Map(verdicts(rows).map((x) => [x.metric, x]));
  const out: string[] = [...header, ""];
  out.push(`| metric | ${runtimes.join(" | ")} | dx/runc | target | result |`);
  out.push(`|---|${runtimes.map(() => "---:").join("|")}|---:|---:|---|`);
  for (const r of rows) {
    const ratio = central(r.values["dx-runtime"]) / central(r.values["runc"]);
    const verdict = v.get(r.metric);
    const cells = runtimes.map((n) => fmt(r.values[n], r.unit));
    out.push(
      `| ${r.metric} (${r.unit}) | ${cells.join(" | ")} | ${Number.isFinite(ratio) ? ratio.toFixed(2) : "–"} | ${
        verdict ? `<= ${verdict.target}` : ""
      } | ${verdict ? (verdict.pass ? "PASS" : "FAIL") : ""} |`,
    );
  }
  out.push("", "Times are `median / p90`. Ratios compare medians (or the single value).");
  for (const n of notes) out.push(`- ${n}`);
  return out.join("\n") + "\n";
}
