/** How names and numbers are spelled in the graph text form; shared by the printer and the parser. */

export const KEYWORDS: ReadonlySet<string> = new Set(["graph", "const", "return", "true", "false", "inf", "nan"]);

const PLAIN = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/** A name as written in the text: bare when it is a plain identifier, else a JSON string. */
export const spellName = (name: string): string => (PLAIN.test(name) && !KEYWORDS.has(name) ? name : JSON.stringify(name));

/**
 * The name a node gets when the text does not say `@name`: GraphBuilder calls a node's
 * outputs `p.out` or `p.out0, p.out1, …`, so such outputs give `p`; otherwise the first
 * output's name (the op's name for a node without outputs).
 */
export function defaultNodeName(op: string, outputs: readonly string[]): string {
  if (outputs.length === 0) return op;
  const first = outputs[0]!;
  if (outputs.length === 1 && first.endsWith(".out") && first.length > 4) return first.slice(0, -4);
  if (outputs.length > 1 && first.endsWith(".out0") && first.length > 5) {
    const p = first.slice(0, -5);
    if (outputs.every((o, k) => o === `${p}.out${k}`)) return p;
  }
  return first;
}

/** A number as the grammar reads it back exactly (shortest round-trip form, signed zero, inf, nan). */
export function spellNumber(v: number): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (Object.is(v, -0)) return "-0";
  return String(v);
}
