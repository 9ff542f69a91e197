/**
 * Plain-text tables for experiment output (the same layout as bench/lib/report.ts's
 * formatTable, which models/ may not import): left-aligned columns two spaces apart, a
 * rule under the header.
 */

/** One table cell: text, a number, or null for a figure that is missing (printed as "-"). */
export type Cell = string | number | null;

/** A number as a person reads it: integers whole, others to 4 significant digits; null as "-". */
export function formatCell(x: Cell): string {
  if (x === null) return "-";
  if (typeof x === "string") return x;
  if (Number.isInteger(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

/** Left-aligned text columns separated by two spaces, with a rule under the header. */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((r) => header.map((_, i) => formatCell(r[i] ?? null)));
  const widths = header.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)].join("\n");
}
