/**
 * ONNX ops that move data without arithmetic: reshape, transpose, (un)squeeze, concat,
 * split, slice, gather, pad, expand, tile, depth/space rearrangements; and ops whose
 * result is known at compile time (Shape, Size, Constant, ConstantOfShape, Range, EyeLike).
 */
import type { Value } from "../../../graph/graph.ts";
import type { Dim } from "../../../graph/types.ts";
import type { DType } from "../../../../core/dtype.ts";
import { Tensor } from "../../../../runtime/tensor.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { dtypeOf } from "../tensor.ts";

/** The static shape of a value, or an unsupported-variant error naming the symbolic dimension. */
export function staticShape(ctx: ConvertContext, v: Value, what = "input"): number[] {
  return v.type.shape.map((d: Dim) => (typeof d === "number" ? d : ctx.unsupported(`${what} has symbolic dimension ${d}; a static shape is needed`)));
}

const i64 = (values: readonly number[], shape: readonly number[] = [values.length]): Tensor => Tensor.fromArray(values, shape, "i64");

/** An operand given as an attribute before `sinceOpset` and as an (optional) input from it on. */
function attrOrInput(ctx: ConvertContext, sinceOpset: number, attr: string, input: number): number[] | undefined {
  if (ctx.opset < sinceOpset) return ctx.attrs.has(attr) ? ctx.attrs.ints(attr) : undefined;
  return ctx.has(input) ? ctx.staticNumbers(input, attr) : undefined;
}

const normAxis = (a: number, rank: number): number => (a < 0 ? a + rank : a);

/** Gathers along `axis` with constant indices (edge/reflect padding, compress, tile of symbolic-free shapes). */
const gatherConst = (ctx: ConvertContext, x: Value, axis: number, idx: readonly number[]): Value =>
  ctx.op("gather", [x, ctx.constant(i64(idx))], { axis });

function pad(ctx: ConvertContext): Value[] {
  let x = ctx.input(0);
  const rank = x.type.shape.length;
  let pads: number[], mode: string, value = 0;
  if (ctx.opset < 11) {
    pads = ctx.attrs.ints(ctx.opset < 2 ? "paddings" : "pads");
    mode = ctx.attrs.string("mode", "constant");
    value = ctx.attrs.float("value", 0);
  } else {
    pads = ctx.staticNumbers(1, "pads");
    mode = ctx.attrs.string("mode", "constant");
    if (ctx.has(2)) value = ctx.staticNumbers(2, "constant_value")[0] ?? 0;
  }
  if (pads.length !== 2 * rank) ctx.unsupported(`pads has ${pads.length} entries for a rank-${rank} input`);
  // Negative pads crop: slice first, then pad what is left.
  if (pads.some((p) => p < 0)) {
    const dims = staticShape(ctx, x);
    const starts = dims.map((_, k) => Math.max(0, -pads[k]!)), ends = dims.map((d, k) => d - Math.max(0, -pads[k + rank]!));
    x = ctx.op("slice", [x], { starts, ends, axes: dims.map((_, k) => k) });
    pads = pads.map((p) => Math.max(0, p));
  }
  if (mode === "constant") return [pads.every((p) => p === 0) ? x : ctx.op("pad", [x], { pads, value })];
  if (mode !== "edge" && mode !== "reflect") ctx.unsupported(`mode ${mode}`);
  const dims = staticShape(ctx, x);
  for (let k = 0; k < rank; k++) {
    const before = pads[k]!, after = pads[k + rank]!, n = dims[k]!;
    if (before === 0 && after === 0) continue;
    const idx: number[] = [];
    for (let i = -before; i < n + after; i++) {
      if (mode === "edge") idx.push(Math.min(n - 1, Math.max(0, i)));
      else {
        if (n === 1) ctx.unsupported("reflect padding of a size-1 axis");
        const period = 2 * (n - 1);
        let j = ((i % period) + period) % period;
        if (j >= n) j = period - j;
        idx.push(j);
      }
    }
    x = gatherConst(ctx, x, k, idx);
  }
  return [x];
}

function slice(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  let starts: number[], ends: number[], axes: number[] | undefined, steps: number[] | undefined;
  if (ctx.opset < 10) {
    starts = ctx.attrs.ints("starts");
    ends = ctx.attrs.ints("ends");
    axes = ctx.attrs.has("axes") ? ctx.attrs.ints("axes") : undefined;
  } else {
    starts = ctx.staticNumbers(1, "starts");
    ends = ctx.staticNumbers(2, "ends");
    axes = ctx.has(3) ? ctx.staticNumbers(3, "axes") : undefined;
    steps = ctx.has(4) ? ctx.staticNumbers(4, "steps") : undefined;
  }
  // int64 extremes arrive rounded to ±2^63; the op clamps, so keep them inside the safe range.
  const clamp = (v: number) => Math.max(-(2 ** 52), Math.min(2 ** 52, v));
  return [ctx.op("slice", [x], { starts: starts.map(clamp), ends: ends.map(clamp), axes: axes ?? [], steps: steps ?? [] })];
}

function split(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  const axis = normAxis(ctx.attrs.int("axis", 0), x.type.shape.length);
  let sizes = attrOrInput(ctx, 13, "split", 1);
  if (!sizes || sizes.length === 0) {
    const d = x.type.shape[axis];
    if (typeof d !== "number") ctx.unsupported(`splitting symbolic dimension ${String(d)}`);
    const n = ctx.numOutputs, part = Math.ceil((d as number) / n);
    sizes = Array.from({ length: n }, (_, k) => Math.max(0, Math.min(part, (d as number) - k * part)));
  }
  return ctx.ops("split", [x], { axis, sizes });
}

function tile(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  const reps = ctx.staticNumbers(1, "repeats");
  const dims = staticShape(ctx, x);
  if (reps.length !== dims.length) ctx.unsupported(`repeats has ${reps.length} entries for rank ${dims.length}`);
  if (reps.every((r) => r === 1)) return [x];
  // [d0, d1] → [1, d0, 1, d1] → expand to [r0, d0, r1, d1] → [r0·d0, r1·d1]
  const inter = ctx.op("reshape", [x], { shape: dims.flatMap((d) => [1, d]) });
  const wide = ctx.op("expand", [inter], { shape: dims.flatMap((d, k) => [reps[k]!, d]) });
  return [ctx.op("reshape", [wide], { shape: dims.map((d, k) => d * reps[k]!) })];
}

/** DepthToSpace (DCR or CRD) and SpaceToDepth as reshape → transpose → reshape. */
function depthToSpace(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  const [n, c, h, w] = staticShape(ctx, x);
  const bs = ctx.attrs.int("blocksize");
  const crd = ctx.attrs.string("mode", "DCR") === "CRD";
  const c2 = c! / (bs * bs);
  const r = crd
    ? ctx.op("transpose", [ctx.op("reshape", [x], { shape: [n!, c2, bs, bs, h!, w!] })], { perm: [0, 1, 4, 2, 5, 3] })
    : ctx.op("transpose", [ctx.op("reshape", [x], { shape: [n!, bs, bs, c2, h!, w!] })], { perm: [0, 3, 4, 1, 5, 2] });
  return [ctx.op("reshape", [r], { shape: [n!, c2, h! * bs, w! * bs] })];
}

function spaceToDepth(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  const [n, c, h, w] = staticShape(ctx, x);
  const bs = ctx.attrs.int("blocksize");
  const r = ctx.op("transpose", [ctx.op("reshape", [x], { shape: [n!, c!, h! / bs, bs, w! / bs, bs] })], { perm: [0, 3, 5, 1, 2, 4] });
  return [ctx.op("reshape", [r], { shape: [n!, c! * bs * bs, h! / bs, w! / bs] })];
}

function constant(ctx: ConvertContext): Value[] {
  const a = ctx.attrs;
  if (a.has("value")) return [ctx.constant(a.tensor("value"))];
  if (a.has("value_float")) return [ctx.constant(Tensor.fromArray([a.float("value_float")], [], "f32"))];
  if (a.has("value_floats")) { const v = a.floats("value_floats"); return [ctx.constant(Tensor.fromArray(v, [v.length], "f32"))]; }
  if (a.has("value_int")) return [ctx.constant(Tensor.fromArray([a.int("value_int")], [], "i64"))];
  if (a.has("value_ints")) { const v = a.ints("value_ints"); return [ctx.constant(i64(v))]; }
  return ctx.unsupported(`value given as ${a.names().join(", ") || "nothing"} (strings and sparse tensors are not supported)`);
}

function constantOfShape(ctx: ConvertContext): Value[] {
  const shape = ctx.staticNumbers(0, "shape");
  const fill = ctx.attrs.has("value") ? ctx.attrs.tensor("value") : Tensor.fromArray([0], [1], "f32");
  const n = shape.reduce((a, b) => a * b, 1);
  return [ctx.constant(Tensor.fromArray(new Array<number>(n).fill(fill.toArray()[0] ?? 0), shape, fill.dtype))];
}

function range(ctx: ConvertContext): Value[] {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.staticNumbers(i, ["start", "limit", "delta"][i]!)[0]!);
  const dtype = ctx.input(0).type.dtype;
  const n = Math.max(0, Math.ceil((limit! - start!) / delta!));
  return [ctx.constant(Tensor.fromArray(Array.from({ length: n }, (_, k) => start! + k * delta!), [n], dtype))];
}

function eyeLike(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  const [r, c] = staticShape(ctx, x);
  const k = ctx.attrs.int("k", 0);
  const dtype: DType = ctx.attrs.has("dtype") ? dtypeOf(ctx.attrs.int("dtype"), `${ctx.opType} (node ${ctx.name})`) : x.type.dtype;
  const data = new Array<number>(r! * c!).fill(0);
  for (let i = 0; i < r!; i++) if (i + k >= 0 && i + k < c!) data[i * c! + i + k] = 1;
  return [ctx.constant(Tensor.fromArray(data, [r!, c!], dtype))];
}

function shape(ctx: ConvertContext): Value[] {
  const dims = staticShape(ctx, ctx.input(0));
  const rank = dims.length;
  const clampIdx = (v: number) => Math.min(rank, Math.max(0, v < 0 ? v + rank : v));
  const start = clampIdx(ctx.attrs.int("start", 0)), end = clampIdx(ctx.attrs.int("end", rank));
  const part = dims.slice(start, Math.max(start, end));
  return [ctx.constant(i64(part))];
}

function oneHot(ctx: ConvertContext): Value[] {
  // Non-integer indices are truncated to integers, as ONNX specifies.
  const idx0 = ctx.input(0);
  const idx = idx0.type.dtype === "i64" || idx0.type.dtype === "i32" ? idx0 : ctx.op("cast", [idx0], { dtype: "i64" });
  const depth = ctx.staticNumbers(1, "depth")[0]!;
  const values = ctx.input(2);
  const d = Math.trunc(depth);
  // Negative indices count from the end of the depth axis.
  const wrapped = ctx.op("where", [ctx.op("less", [idx, ctx.scalar(0, idx.type.dtype)]), ctx.op("add", [idx, ctx.scalar(d, idx.type.dtype)]), idx]);
  const hot = ctx.op("one_hot", [wrapped], { depth: d, axis: ctx.attrs.int("axis", -1) });
  const t = values.type.dtype;
  const off = ctx.op("gather", [values, ctx.constant(Tensor.fromArray([0], [], "i64"))], { axis: 0 });
  const on = ctx.op("gather", [values, ctx.constant(Tensor.fromArray([1], [], "i64"))], { axis: 0 });
  return [ctx.op("where", [ctx.op("not_equal", [hot, ctx.scalar(0, hot.type.dtype)]), on, off].map((v, k) => (k === 0 || v.type.dtype === t ? v : ctx.op("cast", [v], { dtype: t }))))];
}

function compress(ctx: ConvertContext): Value[] {
  let x = ctx.input(0);
  const cond = ctx.staticNumbers(1, "condition");
  const hasAxis = ctx.attrs.has("axis");
  if (!hasAxis) x = ctx.op("reshape", [x], { shape: [-1] });
  const axis = hasAxis ? normAxis(ctx.attrs.int("axis"), x.type.shape.length) : 0;
  const idx = cond.flatMap((c, i) => (c ? [i] : []));
  return [gatherConst(ctx, x, axis, idx)];
}

registerConverters({
  Reshape: (ctx) => {
    const shapeSpec = ctx.opset < 5 ? ctx.attrs.ints("shape") : ctx.staticNumbers(1, "shape");
    if (ctx.attrs.int("allowzero", 0) === 1 && shapeSpec.includes(0)) ctx.unsupported("allowzero = 1 with a zero in the shape");
    return [ctx.op("reshape", [ctx.input(0)], { shape: shapeSpec })];
  },
  Transpose: (ctx) => [ctx.op("transpose", [ctx.input(0)], { perm: ctx.attrs.ints("perm", []) })],
  Squeeze: (ctx) => [ctx.op("squeeze", [ctx.input(0)], { axes: attrOrInput(ctx, 13, "axes", 1) ?? [] })],
  Unsqueeze: (ctx) => [ctx.op("unsqueeze", [ctx.input(0)], { axes: attrOrInput(ctx, 13, "axes", 1) ?? ctx.unsupported("axes missing") })],
  Concat: (ctx) => {
    const ins = Array.from({ length: ctx.numInputs }, (_, i) => ctx.input(i));
    return [ins.length === 1 ? ins[0]! : ctx.op("concat", ins, { axis: ctx.attrs.int("axis") })];
  },
  Split: split,
  Slice: slice,
  Gather: (ctx) => [ctx.op("gather", [ctx.input(0), ctx.input(1)], { axis: ctx.attrs.int("axis", 0) })],
  Pad: pad,
  Expand: (ctx) => [ctx.op("expand", [ctx.input(0)], { shape: ctx.staticNumbers(1, "shape") })],
  Tile: tile,
  DepthToSpace: depthToSpace,
  SpaceToDepth: spaceToDepth,
  Shape: shape,
  Size: (ctx) => [ctx.constant(Tensor.fromArray([staticShape(ctx, ctx.input(0)).reduce((a, b) => a * b, 1)], [], "i64"))],
  Constant: constant,
  ConstantOfShape: constantOfShape,
  Range: range,
  EyeLike: eyeLike,
  OneHot: oneHot,
  Compress: compress,
} satisfies Record<string, Converter>);
