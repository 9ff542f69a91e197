/**
 * Einsum by rewriting: repeated labels within an operand become a diagonal (a gather on
 * the flattened pair of axes), labels no later operand or the output needs are summed
 * away, and operands are contracted pairwise left to right as one matmul each
 * ([batch…, left, contracted] × [batch…, contracted, right], batch dimensions broadcasting).
 * Shapes must be static; operands must be floating point (matmul's domain).
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { constOf, ctxError, floatOnly, product, staticShape } from "./nn-common.ts";

/** An operand during the rewrite: its value and one label per axis. */
interface Term {
  readonly v: Value;
  readonly labels: readonly string[];
  readonly shape: readonly number[];
}

const ELLIPSIS = "...";

/** Splits "ab...c" into labels; each "..." stands for `ellipsisRank` axes, labelled right-aligned ("…0" is the outermost of `maxEllipsis`). */
function labelsOf(ctx: ConvertContext, spec: string, rank: number | null, maxEllipsis: number): string[] {
  const at = spec.indexOf(ELLIPSIS);
  const before = at < 0 ? spec : spec.slice(0, at), after = at < 0 ? "" : spec.slice(at + ELLIPSIS.length);
  for (const ch of before + after) if (!/[a-zA-Z]/.test(ch)) throw ctxError(ctx, `invalid label '${ch}' in equation term '${spec}'`);
  if (after.includes(ELLIPSIS)) throw ctxError(ctx, `term '${spec}' has more than one ellipsis`);
  const named = before.length + after.length;
  const e = at < 0 ? 0 : (rank ?? named + maxEllipsis) - named;
  if (rank !== null && (at < 0 ? named !== rank : e < 0)) throw ctxError(ctx, `term '${spec}' does not match an operand of rank ${rank}`);
  const ell = Array.from({ length: e }, (_, k) => `…${maxEllipsis - e + k}`);
  return [...before, ...ell, ...after];
}

/** The diagonal of the axes p < q (same size n): transpose them last, flatten to n², gather every (n+1)th. */
function diagonal(ctx: ConvertContext, t: Term, p: number, q: number): Term {
  const n = t.shape[p]!;
  if (t.shape[q] !== n) throw ctxError(ctx, `label '${t.labels[p]}' is repeated on axes of sizes ${n} and ${t.shape[q]}`);
  const rest = t.shape.map((_, k) => k).filter((k) => k !== p && k !== q);
  const moved = ctx.op("transpose", [t.v], { perm: [...rest, p, q] });
  const flat = ctx.op("reshape", [moved], { shape: [...rest.map((k) => t.shape[k]!), n * n] });
  const idx = constOf(ctx, Array.from({ length: n }, (_, k) => k * (n + 1)), [n], "i64");
  const v = ctx.op("gather", [flat, idx], { axis: rest.length });
  return { v, labels: [...rest.map((k) => t.labels[k]!), t.labels[p]!], shape: [...rest.map((k) => t.shape[k]!), n] };
}

function diagonals(ctx: ConvertContext, t: Term): Term {
  for (;;) {
    const p = t.labels.findIndex((l, k) => t.labels.indexOf(l, k + 1) >= 0);
    if (p < 0) return t;
    t = diagonal(ctx, t, p, t.labels.indexOf(t.labels[p]!, p + 1));
  }
}

/** Sums away the axes whose labels are not in `keep`. */
function sumExcept(ctx: ConvertContext, t: Term, keep: ReadonlySet<string>): Term {
  const axes = t.labels.flatMap((l, k) => (keep.has(l) ? [] : [k]));
  if (axes.length === 0) return t;
  const v = ctx.op("sum", [t.v], { axes, keepdims: false });
  const kept = t.labels.map((_, k) => k).filter((k) => !axes.includes(k));
  return { v, labels: kept.map((k) => t.labels[k]!), shape: kept.map((k) => t.shape[k]!) };
}

/** Transposes to `labels` order and reshapes to `shape` (skipping no-op steps). */
function arrange(ctx: ConvertContext, t: Term, labels: readonly string[], shape: readonly number[]): Value {
  const perm = labels.map((l) => t.labels.indexOf(l));
  const moved = perm.every((p, k) => p === k) ? t.v : ctx.op("transpose", [t.v], { perm });
  const cur = perm.map((p) => t.shape[p]!);
  return cur.length === shape.length && cur.every((d, k) => d === shape[k]) ? moved : ctx.op("reshape", [moved], { shape: [...shape] });
}

/** Broadcasts a size-1 axis of `t` to the size the other operand has for a label contracted away. */
function expandTo(ctx: ConvertContext, t: Term, sizes: ReadonlyMap<string, number>): Term {
  const shape = t.labels.map((l, k) => Math.max(t.shape[k]!, sizes.get(l) ?? 1));
  if (shape.every((d, k) => d === t.shape[k])) return t;
  return { v: ctx.op("expand", [t.v], { shape }), labels: t.labels, shape };
}

/** A × B keeping the labels in `keep`: one batched matmul. */
function contract(ctx: ConvertContext, a: Term, b: Term, keep: ReadonlySet<string>): Term {
  a = sumExcept(ctx, a, new Set([...keep, ...b.labels]));
  b = sumExcept(ctx, b, new Set([...keep, ...a.labels]));
  const inB = new Set(b.labels), inA = new Set(a.labels);
  const batch = a.labels.filter((l) => inB.has(l) && keep.has(l));
  const summed = a.labels.filter((l) => inB.has(l) && !keep.has(l));
  const left = a.labels.filter((l) => !inB.has(l)), right = b.labels.filter((l) => !inA.has(l));
  const size = (t: Term, l: string) => t.shape[t.labels.indexOf(l)]!;
  for (const l of [...batch, ...summed]) {
    const x = size(a, l), y = size(b, l);
    if (x !== y && x !== 1 && y !== 1) throw ctxError(ctx, `label '${l}' has sizes ${x} and ${y}`);
  }
  const sumSizes = new Map(summed.map((l) => [l, Math.max(size(a, l), size(b, l))]));
  a = expandTo(ctx, a, sumSizes);
  b = expandTo(ctx, b, sumSizes);
  const k = product(summed.map((l) => size(a, l)));
  const am = arrange(ctx, a, [...batch, ...left, ...summed], [...batch.map((l) => size(a, l)), product(left.map((l) => size(a, l))), k]);
  const bm = arrange(ctx, b, [...batch, ...summed, ...right], [...batch.map((l) => size(b, l)), k, product(right.map((l) => size(b, l)))]);
  const y = ctx.op("matmul", [am, bm]);
  const shape = [...batch.map((l) => Math.max(size(a, l), size(b, l))), ...left.map((l) => size(a, l)), ...right.map((l) => size(b, l))];
  return { v: ctx.op("reshape", [y], { shape }), labels: [...batch, ...left, ...right], shape };
}

function einsum(ctx: ConvertContext): Value {
  const equation = ctx.attrs.string("equation").replace(/\s+/g, "");
  const [lhs, rhs] = equation.split("->") as [string, string | undefined];
  const specs = lhs.split(",");
  if (specs.length !== ctx.numInputs) throw ctxError(ctx, `equation '${equation}' has ${specs.length} operands, the node ${ctx.numInputs}`);
  const values = specs.map((_, i) => ctx.input(i));
  values.forEach((v, i) => floatOnly(ctx, v, `operand ${i}`));
  const ranks = values.map((v) => v.type.shape.length);
  const maxEllipsis = Math.max(0, ...specs.map((s, i) => (s.includes(ELLIPSIS) ? ranks[i]! - (s.length - ELLIPSIS.length) : 0)));
  let terms: Term[] = specs.map((s, i) => ({ v: values[i]!, labels: labelsOf(ctx, s, ranks[i]!, maxEllipsis), shape: staticShape(ctx, values[i]!, `operand ${i}`) }));
  let out: string[];
  if (rhs !== undefined) {
    out = labelsOf(ctx, rhs, null, maxEllipsis);
  } else {
    // Implicit output: the broadcast (ellipsis) axes, then the labels used once, alphabetically.
    const count = new Map<string, number>();
    for (const t of terms) for (const l of t.labels) count.set(l, (count.get(l) ?? 0) + 1);
    const ell = Array.from({ length: maxEllipsis }, (_, k) => `…${k}`);
    out = [...ell, ...[...count].filter(([l, c]) => c === 1 && !l.startsWith("…")).map(([l]) => l).sort()];
  }
  for (const l of out) if (!terms.some((t) => t.labels.includes(l))) throw ctxError(ctx, `output label '${l}' appears in no operand`);
  if (new Set(out).size !== out.length) throw ctxError(ctx, `output '${rhs}' repeats a label`);
  terms = terms.map((t) => diagonals(ctx, t));
  let acc = sumExcept(ctx, terms[0]!, new Set([...out, ...terms.slice(1).flatMap((t) => t.labels)]));
  for (let i = 1; i < terms.length; i++) {
    acc = contract(ctx, acc, terms[i]!, new Set([...out, ...terms.slice(i + 1).flatMap((t) => t.labels)]));
  }
  acc = sumExcept(ctx, acc, new Set(out));
  return arrange(ctx, acc, out, out.map((l) => acc.shape[acc.labels.indexOf(l)]!));
}

const table: Record<string, Converter> = { Einsum: (ctx) => [einsum(ctx)] };
registerConverters(table);
