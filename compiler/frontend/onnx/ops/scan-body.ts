/**
 * Emitting a scan (compiler/graph/scan.ts) from a converter: the step is written with an
 * ordinary ConvertContext whose ops go into the body graph, and any value of the
 * enclosing graph the step uses (weights, biases) becomes a body input, captured once and
 * passed to the scan as an invariant. The step is traced once, whatever the trip count.
 */
import { Tensor } from "../../../../runtime/tensor.ts";
import { GraphBuilder } from "../../../graph/builder.ts";
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext } from "../convert.ts";

export interface ScanStep {
  readonly carries: readonly Value[];
  readonly ys: readonly Value[];
}

/**
 * A scan over axis 0 of `sequences` whose body is `step(body, carries, slices)`; returns
 * the scan's outputs: the final carries, then each y stacked along a new axis 0.
 */
export function emitScan(
  ctx: ConvertContext,
  operands: { readonly carries: readonly Value[]; readonly sequences: readonly Value[] },
  opts: { readonly reverse?: boolean },
  step: (body: ConvertContext, carries: Value[], slices: Value[]) => ScanStep,
): Value[] {
  const b = new GraphBuilder();
  const own = new Set<Value>();
  const mine = <T extends Value>(v: T): T => { own.add(v); return v; };
  const carries = operands.carries.map((v, k) => mine(b.input(`carry${k}`, v.type.shape, v.type.dtype)));
  const slices = operands.sequences.map((v, j) => mine(b.input(`x${j}`, v.type.shape.slice(1), v.type.dtype)));
  const captured = new Map<Value, Value>();
  /** A body value, or the body input standing for a value of the enclosing graph. */
  const inner = (v: Value): Value => {
    if (own.has(v)) return v;
    let c = captured.get(v);
    if (!c) { c = mine(b.input(v.name, v.type.shape, v.type.dtype)); captured.set(v, c); }
    return c;
  };
  const body: ConvertContext = {
    ...ctx,
    b,
    op: (name, ins, attrs = {}) => mine(b.op1(name, ins.map(inner), attrs, ctx.name)),
    ops: (name, ins, attrs = {}) => b.op(name, ins.map(inner), attrs, ctx.name).map(mine),
    constant: (t) => mine(b.constant(`${ctx.name}_const`, t.data, t.shape, t.dtype)),
    scalar: (x, dtype) => mine(b.constant(`${ctx.name}_scalar`, Tensor.fromArray([x], [], dtype).data, [], dtype)),
  };
  const out = step(body, carries, slices);
  const graph = b.build([...out.carries, ...out.ys].map(inner));
  return ctx.b.scan(graph, { carries: operands.carries, sequences: operands.sequences, invariants: [...captured.keys()] }, opts, ctx.name);
}
