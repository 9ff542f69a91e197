/**
 * The graph reference interpreter: every node is evaluated through its op's
 * tensor-expression compute rule by the TE reference evaluator, so an op's meaning is
 * written exactly once. Slow and exact; the source of truth for graph tests.
 */
import { LatheError, ShapeError } from "../../core/errors.ts";
import { evaluate } from "../te/evaluate.ts";
import type { DType, TypedArray } from "../../core/dtype.ts";
import { wrapTo } from "../../core/dtype.ts";
import { f16FromBits } from "../../core/f16.ts";
import { getOp } from "../ops/registry.ts";
import type { Graph, Value } from "./graph.ts";
import type { ScanNode } from "./scan.ts";
import { isScan, scanAttrs, scanLength } from "./scan.ts";
import type { Dim } from "./types.ts";
import { SizeVars, placeholderOf } from "./te-bridge.ts";
import { bindDims } from "../../runtime/signature.ts";

export interface InterpretResult {
  /** Every value's data (row-major, f64) and concrete shape. */
  readonly values: Map<Value, { data: Float64Array; shape: number[] }>;
  /** The graph outputs, in order. */
  readonly outputs: { data: Float64Array; shape: number[] }[];
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
    if (isScan(node)) { runScan(node, values, dims); continue; }
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

type Data = { data: Float64Array; shape: number[] };

/** A scan node: its body interpreted once per step, slices of the sequences in, slices of the stacked outputs out. */
function runScan(node: ScanNode, values: Map<Value, Data>, dims: ReadonlyMap<string, number>): void {
  const attrs = scanAttrs(node.attrs, node.name);
  const { carries: C, sequences: S, reverse } = attrs;
  const ins = node.inputs.map((v) => {
    const got = values.get(v);
    if (!got) throw new LatheError(`node ${node.name}: input ${v.name} is not computed before it (graph not in topological order?)`);
    return got;
  });
  const T = concrete([scanLength(node.inputs.map((v) => v.type), attrs, node.name)], dims)[0]!;
  const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
  let carry: Data[] = ins.slice(0, C);
  const seqs = ins.slice(C, C + S), invariants = ins.slice(C + S);
  const stacked = node.outputs.slice(C).map((o) => { const shape = concrete(o.type.shape, dims); return { data: new Float64Array(count(shape)), shape }; });
  for (let i = 0; i < T; i++) {
    const t = reverse ? T - 1 - i : i;
    const slices = seqs.map((s) => { const shape = s.shape.slice(1), n = count(shape); return { data: s.data.subarray(t * n, (t + 1) * n), shape }; });
    const outs = interpret(node.body, [...carry, ...slices, ...invariants]).outputs;
    carry = outs.slice(0, C);
    outs.slice(C).forEach((y, j) => stacked[j]!.data.set(y.data, t * y.data.length));
  }
  node.outputs.forEach((o, k) => values.set(o, k < C ? { data: carry[k]!.data, shape: concrete(o.type.shape, dims) } : stacked[k - C]!));
}
