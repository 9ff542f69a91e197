/** Small helpers shared by the neural-network converter families (nn, einsum, resize, loss). */
import type { Value } from "../../../graph/graph.ts";
import type { DType } from "../../../../core/dtype.ts";
import { isFloat } from "../../../../core/dtype.ts";
import type { ConvertContext } from "../convert.ts";
import { tensorOf } from "../convert.ts";
import { OnnxError } from "../errors.ts";

/** A value's shape, which this conversion needs as numbers (symbolic dimensions are rejected). */
export function staticShape(ctx: ConvertContext, v: Value, what: string): number[] {
  const s = v.type.shape;
  if (s.some((d) => typeof d !== "number")) ctx.unsupported(`${what} has symbolic shape [${s.join(", ")}] (its dimensions must be known; pass them as ImportOptions.dims)`);
  return s as number[];
}

/** An ONNX axis (negative counts from the end) as 0..rank-1. */
export function normAxis(ctx: ConvertContext, axis: number, rank: number, what = "axis"): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw ctxError(ctx, `${what} ${axis} is out of range for rank ${rank}`);
  return a;
}

/** A malformed node (not an unsupported variant): an OnnxError naming the node. */
export function ctxError(ctx: ConvertContext, msg: string): Error {
  return new OnnxError(`${ctx.opType} (node ${ctx.name}): ${msg}`);
}

export const floatOnly = (ctx: ConvertContext, v: Value, what = "input"): void => {
  if (!isFloat(v.type.dtype)) ctx.unsupported(`${what} of type ${v.type.dtype} (only floating point is supported)`);
};

export const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** A constant of the given shape from plain numbers. */
export const constOf = (ctx: ConvertContext, values: readonly number[], shape: readonly number[], dtype: DType): Value =>
  ctx.constant(tensorOf(values, shape, dtype));

/** `v` reshaped so that it broadcasts along `axis` of a rank-`rank` tensor: [n] → [n, 1, …, 1]. */
export const alongAxis = (ctx: ConvertContext, v: Value, axis: number, rank: number): Value =>
  rank - axis - 1 > 0 ? ctx.op("unsqueeze", [v], { axes: Array.from({ length: rank - axis - 1 }, (_, k) => k + 1) }) : v;

/** Unpacks an ONNX auto_pad attribute into explicit pads (all befores, then all afters). */
export function autoPads(
  ctx: ConvertContext, spatial: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[],
): number[] {
  const n = spatial.length;
  const mode = ctx.attrs.string("auto_pad", "NOTSET");
  switch (mode) {
    case "NOTSET": {
      const pads = ctx.attrs.ints("pads", new Array<number>(2 * n).fill(0));
      if (pads.length !== 2 * n) throw ctxError(ctx, `pads has ${pads.length} entries, expected ${2 * n}`);
      if (pads.some((p) => p < 0)) ctx.unsupported(`negative pads [${pads.join(", ")}]`);
      return pads;
    }
    case "VALID":
      return new Array<number>(2 * n).fill(0);
    case "SAME_UPPER":
    case "SAME_LOWER": {
      // Output size ceil(in / stride); the total padding that makes it so goes to the end (UPPER) or start (LOWER) when odd.
      const before: number[] = [], after: number[] = [];
      for (let k = 0; k < n; k++) {
        const out = Math.ceil(spatial[k]! / strides[k]!);
        const total = Math.max(0, (out - 1) * strides[k]! + (kernel[k]! - 1) * dilations[k]! + 1 - spatial[k]!);
        const small = Math.floor(total / 2);
        before.push(mode === "SAME_UPPER" ? small : total - small);
        after.push(mode === "SAME_UPPER" ? total - small : small);
      }
      return [...before, ...after];
    }
    default:
      throw ctxError(ctx, `unknown auto_pad '${mode}'`);
  }
}
