/**
 * The graph reference interpreter: every node is evaluated through its op's
 * tensor-expression compute rule by the TE reference evaluator, so an op's meaning is
 * written exactly once. Slow and exact; the source of truth for graph tests.
 */
import { LatheError, ShapeError } from "../errors.ts";
import { evaluate } from "../te/evaluate.ts";
import type { DType, TypedArray } from "../te/dtype.ts";
import { wrapTo } from "../te/dtype.ts";
import { f16FromBits } from "../../runtime/f16.ts";
import { getOp } from "../ops/registry.ts";
import type { Graph, Value } from "./graph.ts";
import type { Dim } from "./types.ts";
import { SizeVars, placeholderOf } from "./te-bridge.ts";

export interface InterpretResult {
  /** Every value's data (row-major, f64) and concrete shape. */
  readonly values: Map<Value, { data: Float64Array; shape: number[] }>;
  /** The graph outputs, in order. */
  readonly outputs: { data: Float64Array; shape: number[] }[];
}

/** Binds symbolic dimensions from the inputs' concrete shapes; a conflict names the input and dimension. */
export function bindDims(values: readonly Value[], shapes: readonly (readonly number[])[]): Map<string, number> {
  const sizes = new Map<string, number>();
  values.forEach((v, k) => {
    const shape = shapes[k]!;
    if (shape.length !== v.type.shape.length) {
      throw new ShapeError(`input ${v.name}: expected ${v.type.shape.length} dimensions [${v.type.shape.join(", ")}], got [${shape.join(", ")}]`);
    }
    v.type.shape.forEach((d: Dim, i) => {
      const n = shape[i]!;
      if (typeof d === "number") {
        if (d !== n) throw new ShapeError(`input ${v.name}: dimension ${i} must be ${d}, got ${n}`);
      } else if (sizes.has(d) && sizes.get(d) !== n) {
        throw new ShapeError(`input ${v.name}: dimension ${i} (${d}) is ${n}, but ${d} = ${sizes.get(d)} from an earlier input`);
      } else sizes.set(d, n);
    });
  });
  return sizes;
}

const concrete = (shape: readonly Dim[], sizes: ReadonlyMap<string, number>): number[] =>
  shape.map((d) => (typeof d === "number" ? d : sizes.get(d) ?? (() => { throw new LatheError(`symbolic dimension ${d} is not bound by any input`); })()));

/** Constant data as numbers: f16 is stored as raw half bits, i64 as bigints. */
function decode(data: TypedArray, dtype: DType): Float64Array {
  if (dtype === "f16") return Float64Array.from(data as Uint16Array, f16FromBits);
  if (data instanceof BigInt64Array) return Float64Array.from(data, (x) => Number(x));
  return Float64Array.from(data as ArrayLike<number>);
}

export function interpret(g: Graph, inputs: readonly { data: ArrayLike<number>; shape: readonly number[] }[]): InterpretResult {
  if (inputs.length !== g.inputs.length) throw new ShapeError(`graph takes ${g.inputs.length} inputs, got ${inputs.length}`);
  const dims = bindDims(g.inputs, inputs.map((x) => x.shape));
  const values = new Map<Value, { data: Float64Array; shape: number[] }>();
  // Inputs are rounded to their dtype, as a compiled graph would store them.
  g.inputs.forEach((v, k) => values.set(v, { data: Float64Array.from(inputs[k]!.data, (x) => wrapTo(v.type.dtype, x)), shape: [...inputs[k]!.shape] }));
  for (const c of g.constants) values.set(c.value, { data: decode(c.data, c.value.type.dtype), shape: concrete(c.value.type.shape, dims) });
  for (const node of g.nodes) {
    const sizes = new SizeVars();
    const op = getOp(node.op, node.name);
    const ins = node.inputs.map((v) => placeholderOf(v, sizes));
    const outs = op.compute(ins, node.attrs, { name: node.name, outputs: node.outputs.map((o) => o.type), sizes: sizes.map });
    const feed = new Map(node.inputs.map((v, k) => {
      const got = values.get(v);
      if (!got) throw new LatheError(`node ${node.name}: input ${v.name} is not computed before it (graph not in topological order?)`);
      return [ins[k]!, got.data] as const;
    }));
    const sizeValues = new Map([...sizes.map].map(([name, v]) => [v, dims.get(name)!] as const));
    const result = evaluate(outs, feed, sizeValues);
    node.outputs.forEach((o, k) => values.set(o, { data: result.get(outs[k]!)!, shape: concrete(o.type.shape, dims) }));
  }
  return { values, outputs: g.outputs.map((o) => values.get(o)!) };
}
