/**
 * ONNX Scan and Loop as scan nodes (compiler/graph/scan.ts). The body attribute is imported
 * once (ConvertContext.body); values of the enclosing graph it reads become the scan's
 * invariants. The scan construct steps along axis 0 in one direction, so:
 *
 * - Scan: an input scanned along another axis is transposed to the front, an output stacked
 *   along another axis is transposed back; the scan runs in reverse when every scan input
 *   does, and an input or output whose direction differs is flipped (a slice with step −1,
 *   which needs a static length). Opset 8's batched Scan is a scan over the batch whose body
 *   is the scan over the sequence; its sequence_lens is refused.
 * - Loop: only static trip counts. M must be known at compile time (an initializer, a bound
 *   input, or computed from them) and so must the initial cond. The body's cond_in is true in
 *   every step that runs, so it is imported as the constant true; the body's cond_out must
 *   then come out a compile-time constant: true (the loop runs M times) or false (once).
 *   A condition computed from run-time values is dynamic termination, refused. The
 *   iteration number is scanned from a constant [0, 1, …, T−1] where the body reads it.
 */
import { Tensor } from "../../../../runtime/tensor.ts";
import { GraphBuilder } from "../../../graph/builder.ts";
import type { Graph, Value } from "../../../graph/graph.ts";
import { deadCodeElimination } from "../../../graph/passes/dce.ts";
import type { TensorType } from "../../../graph/types.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { ctxError, normAxis } from "./nn-common.ts";

const typeOf = (v: Value): { readonly type: TensorType } => ({ type: { shape: [...v.type.shape], dtype: v.type.dtype } });

/** `v` reversed along `axis` (whose length must be static). */
function flip(ctx: ConvertContext, v: Value, axis: number, what: string): Value {
  const d = v.type.shape[axis]!;
  if (typeof d !== "number") ctx.unsupported(`${what} runs in the other direction over symbolic length ${d} (reversing it needs a static length)`);
  return ctx.op("slice", [v], { starts: [-1], ends: [-(2 ** 52)], axes: [axis], steps: [-1] });
}

/** `v` with `axis` moved to the front. */
function toFront(ctx: ConvertContext, v: Value, axis: number): Value {
  if (axis === 0) return v;
  const rest = v.type.shape.map((_, k) => k).filter((k) => k !== axis);
  return ctx.op("transpose", [v], { perm: [axis, ...rest] });
}

/** `v` with axis 0 moved to `axis`. */
function fromFront(ctx: ConvertContext, v: Value, axis: number): Value {
  if (axis === 0) return v;
  const r = v.type.shape.length;
  const perm = Array.from({ length: r }, (_, k) => (k < axis ? k + 1 : k === axis ? 0 : k));
  return ctx.op("transpose", [v], { perm });
}

function listAttr(ctx: ConvertContext, name: string, n: number, what: string): number[] {
  const v = ctx.attrs.ints(name, new Array<number>(n).fill(0));
  if (v.length !== n) throw ctxError(ctx, `${name} has ${v.length} entries for ${n} ${what}`);
  return v;
}

function scan(ctx: ConvertContext): Value[] {
  const batched = ctx.opset < 9; // opset 8: [sequence_lens, states, scan inputs], batch axis 0, sequence axis 1
  const first = batched ? 1 : 0;
  if (batched && ctx.has(0)) ctx.unsupported("sequence_lens (opset-8 Scan with per-batch lengths)");
  const M = ctx.attrs.int("num_scan_inputs");
  const N = ctx.numInputs - first - M;
  if (M < 1) ctx.unsupported(`num_scan_inputs ${M} (the trip count is the scan inputs' length, so at least one is needed)`);
  if (N < 0) throw ctxError(ctx, `num_scan_inputs ${M} exceeds the ${ctx.numInputs - first} state and scan inputs`);
  const states = Array.from({ length: N }, (_, i) => ctx.input(first + i));
  const xs = Array.from({ length: M }, (_, j) => ctx.input(first + N + j));
  const inDirs = listAttr(ctx, batched ? "directions" : "scan_input_directions", M, "scan inputs");
  const reverse = inDirs.every((d) => d === 1);
  const seqAxis = batched ? 1 : 0;
  // Each scan input with its sequence axis at seqAxis, in the scan's direction.
  const seqs = xs.map((x, j) => {
    if (batched && x.type.shape.length < 2) throw ctxError(ctx, `scan input ${j} has rank ${x.type.shape.length}; opset-8 Scan inputs are [batch, sequence, …]`);
    const axis = batched ? 1 : normAxis(ctx, listAttr(ctx, "scan_input_axes", M, "scan inputs")[j]!, x.type.shape.length, `scan_input_axes[${j}]`);
    const front = batched ? x : toFront(ctx, x, axis);
    return (inDirs[j] === 1) === reverse ? front : flip(ctx, front, seqAxis, `scan input ${j}`);
  });
  // Per-step body types: a state without its batch axis; a scan input without batch and sequence axes.
  const drop = batched ? 1 : 0;
  const body = ctx.body("body", [
    ...states.map((s) => ({ type: { shape: s.type.shape.slice(drop), dtype: s.type.dtype } })),
    ...seqs.map((x) => ({ type: { shape: x.type.shape.slice(drop + 1), dtype: x.type.dtype } })),
  ]);
  const K = body.graph.outputs.length - N;
  if (K < 0) throw ctxError(ctx, `the body returns ${body.graph.outputs.length} values, fewer than the ${N} states`);
  const outDirs = batched ? new Array<number>(K).fill(0) : listAttr(ctx, "scan_output_directions", K, "scan outputs");
  const outAxes = batched ? new Array<number>(K).fill(1) : listAttr(ctx, "scan_output_axes", K, "scan outputs");
  const outs = batched
    ? ctx.b.scan(perBatchBody(body.graph, states, seqs, body.captured, reverse), { sequences: [...states, ...seqs], invariants: body.captured }, {}, ctx.name)
    : ctx.b.scan(body.graph, { carries: states, sequences: seqs, invariants: body.captured }, { reverse }, ctx.name);
  const ys = outs.slice(N).map((y, k) => {
    const inOrder = (outDirs[k] === 1) === reverse ? y : flip(ctx, y, seqAxis, `scan output ${k}`);
    if (batched) return inOrder;
    const axis = normAxis(ctx, outAxes[k]!, y.type.shape.length, `scan_output_axes[${k}]`);
    return fromFront(ctx, inOrder, axis);
  });
  return [...outs.slice(0, N), ...ys];
}

/**
 * Opset 8's batched Scan: the body of a scan over the batch axis is one sequence's scan,
 * taking one batch row of each state and scan input; captured values pass through as
 * invariants of both.
 */
function perBatchBody(step: Graph, states: readonly Value[], seqs: readonly Value[], captured: readonly Value[], reverse: boolean): Graph {
  const b = new GraphBuilder();
  const row = (v: Value, name: string) => b.input(name, v.type.shape.slice(1), v.type.dtype);
  const s = states.map((v, i) => row(v, `state${i}`));
  const x = seqs.map((v, j) => row(v, `x${j}`));
  const c = captured.map((v) => b.input(v.name, v.type.shape, v.type.dtype));
  return b.build(b.scan(step, { carries: s, sequences: x, invariants: c }, { reverse }, "sequence"));
}

/** The longest loop whose iteration numbers are materialized as a constant (8 bytes a step). */
const MAX_COUNTED_STEPS = 1 << 24;

function loop(ctx: ConvertContext): Value[] {
  if (ctx.numInputs < 2) throw ctxError(ctx, `has ${ctx.numInputs} inputs; Loop takes M, cond and the loop-carried values (M and cond may be empty)`);
  const M = ctx.has(0) ? ctx.staticNumbers(0, "M (trip count)")[0]! : undefined;
  if (M !== undefined && (!Number.isSafeInteger(M) || M < 0)) throw ctxError(ctx, `trip count M is ${M}; it must be a non-negative integer`);
  const runs = ctx.has(1) ? ctx.staticNumbers(1, "cond")[0]! !== 0 : true;
  const init = Array.from({ length: ctx.numInputs - 2 }, (_, i) => ctx.input(2 + i));
  const N = init.length;
  // cond_in is true in every step that runs (a step runs only when the condition holds).
  const body = ctx.body("body", [{ type: { shape: [], dtype: "i64" } }, { constant: Tensor.fromArray([1], [], "bool") }, ...init.map(typeOf)]);
  const outputs = body.graph.outputs;
  if (outputs.length < 1 + N) throw ctxError(ctx, `the body returns ${outputs.length} values, fewer than cond and the ${N} loop-carried values`);
  const cond = body.constants[0];
  if (!cond) {
    ctx.unsupported("the body computes its condition from run-time values (dynamic termination is not supported: " +
      "M must be static and the condition must stay true, or be false after the first step)");
  }
  const stays = cond.toArray()[0] !== 0;
  if (runs && stays && M === undefined) ctx.unsupported("no trip count M and a condition that never turns false: the loop would not end");
  const T = !runs ? 0 : stays ? M! : Math.min(M ?? 1, 1);
  // The scan's body: carries, then the iteration number if the body reads it, then captured values.
  const [iter, ...rest] = body.graph.inputs;
  const pruned = deadCodeElimination({ ...body.graph, outputs: outputs.slice(1) });
  const readsIter = pruned.nodes.some((n) => n.inputs.includes(iter!)) || pruned.outputs.includes(iter!);
  const step: Graph = { ...pruned, inputs: [...rest.slice(0, N), ...(readsIter ? [iter!] : []), ...rest.slice(N)] };
  if (readsIter && T > MAX_COUNTED_STEPS) ctx.unsupported(`the body reads the iteration number of ${T} steps (at most ${MAX_COUNTED_STEPS})`);
  const counter = readsIter ? [ctx.constant(Tensor.fromArray(Array.from({ length: T }, (_, t) => t), [T], "i64"))] : [];
  return ctx.b.scan(step, { carries: init, sequences: counter, invariants: body.captured }, { length: readsIter ? -1 : T }, ctx.name);
}

export const scanLoopConverters: Record<string, Converter> = { Scan: scan, Loop: loop };
registerConverters(scanLoopConverters);
