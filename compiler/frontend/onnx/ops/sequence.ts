/**
 * ONNX sequence ops on sequences held at import time (see ValueSequence): positions and
 * split sizes must be static, so every element is an ordinary graph value and nothing of
 * the sequence remains at run time.
 */
import type { Value } from "../../../graph/graph.ts";
import { Tensor } from "../../../../runtime/tensor.ts";
import type { ConvertContext, Converter, ValueSequence } from "../convert.ts";
import { registerConverters } from "../convert.ts";

const seq = (items: readonly Value[]): ValueSequence => ({ kind: "sequence", items });

/** A position operand (may be negative, counting from the end); `insert` allows one past the end. */
function position(ctx: ConvertContext, i: number, length: number, insert: boolean): number {
  const p = ctx.has(i) ? ctx.staticNumbers(i, "position")[0]! : insert ? length : length - 1;
  const q = p < 0 ? p + length : p;
  if (q < 0 || q > (insert ? length : length - 1)) ctx.unsupported(`position ${p} is out of range for a sequence of ${length}`);
  return q;
}

function splitToSequence(ctx: ConvertContext): ValueSequence[] {
  const x = ctx.input(0);
  const rank = x.type.shape.length;
  const axis0 = ctx.attrs.int("axis", 0), axis = axis0 < 0 ? axis0 + rank : axis0;
  const d = x.type.shape[axis];
  if (typeof d !== "number") return ctx.unsupported(`splitting symbolic dimension ${String(d)}`);
  const keepdims = ctx.attrs.int("keepdims", 1) === 1;
  if (!ctx.has(1)) {
    // Pieces of size 1, squeezed unless keepdims.
    const parts = d === 1 ? [x] : ctx.ops("split", [x], { axis, sizes: new Array<number>(d).fill(1) });
    return [seq(keepdims ? parts : parts.map((p) => ctx.op("squeeze", [p], { axes: [axis] })))];
  }
  const split = ctx.staticInput(1, "split");
  let sizes: number[];
  if (split.shape.length === 0) {
    const n = split.toArray()[0]!;
    sizes = Array.from({ length: Math.ceil(d / n) }, (_, k) => Math.min(n, d - k * n));
  } else sizes = split.toArray();
  return [seq(sizes.length === 1 ? [x] : ctx.ops("split", [x], { axis, sizes }))];
}

function concatFromSequence(ctx: ConvertContext): Value[] {
  const items = ctx.sequence(0);
  if (items.length === 0) return ctx.unsupported("an empty sequence");
  const axis = ctx.attrs.int("axis");
  if (ctx.attrs.int("new_axis", 0) === 1) {
    const rank = items[0]!.type.shape.length + 1;
    const a = axis < 0 ? axis + rank : axis;
    return [ctx.op("concat", items.map((v) => ctx.op("unsqueeze", [v], { axes: [a] })), { axis: a })];
  }
  return [items.length === 1 ? items[0]! : ctx.op("concat", [...items], { axis })];
}

registerConverters({
  SequenceEmpty: () => [seq([])],
  SequenceConstruct: (ctx) => [seq(Array.from({ length: ctx.numInputs }, (_, i) => ctx.input(i)))],
  SequenceInsert: (ctx) => {
    const items = [...ctx.sequence(0)];
    items.splice(position(ctx, 2, items.length, true), 0, ctx.input(1));
    return [seq(items)];
  },
  SequenceErase: (ctx) => {
    const items = [...ctx.sequence(0)];
    items.splice(position(ctx, 1, items.length, false), 1);
    return [seq(items)];
  },
  SequenceAt: (ctx) => {
    const items = ctx.sequence(0);
    return [items[position(ctx, 1, items.length, false)]!];
  },
  SequenceLength: (ctx) => [ctx.constant(Tensor.fromArray([ctx.sequence(0).length], [], "i64"))],
  SplitToSequence: splitToSequence,
  ConcatFromSequence: concatFromSequence,
} satisfies Record<string, Converter>);
