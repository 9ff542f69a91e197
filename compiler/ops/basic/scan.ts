/**
 * cumsum{axis, exclusive, reverse} (ONNX CumSum, the axis as a static attribute) and
 * trilu{upper, k} (ONNX Trilu, k static). cumsum is written as a masked reduction over the
 * whole axis — quadratic in the axis length, but an ordinary TE reduction every backend
 * lowers.
 */
import type { Expr } from "../../te/expr.ts";
import { float, ge, gt, le, lt, select, sub } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import { defineOp } from "../op.ts";
import { ShapeError } from "../../../core/errors.ts";
import { showType } from "../../graph/types.ts";
import { arity, at, normAxis, numeric } from "./common.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

type CumsumAttrs = { readonly axis: number; readonly exclusive: number; readonly reverse: number };

export const cumsum = defineOp<CumsumAttrs>({
  name: "cumsum",
  fusion: "reduce",
  attrs: { axis: { kind: "int", default: 0 }, exclusive: { kind: "int", default: 0 }, reverse: { kind: "int", default: 0 } },
  infer: (inputs, { axis }, node) => {
    arity(inputs, 1, node, "cumsum");
    const x = inputs[0]!;
    numeric(x, node, "cumsum");
    normAxis(axis, x.shape.length, node, "cumsum");
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  compute: ([x], { axis, exclusive, reverse }, ctx) => {
    const a = normAxis(axis, x!.shape.length, ctx.name, "cumsum");
    // Which positions r along the axis position i sums.
    const take = reverse ? (exclusive ? gt : ge) : (exclusive ? lt : le);
    return [compute(x!.shape, (...o) => {
      const r = reduceAxis(x!.shape[a]!, "r");
      return sum(r, x!.at(...o.slice(0, a), r.var, ...o.slice(a + 1)), { where: take(r.var, o[a]!) });
    }, ctx.name)];
  },
  // The adjoint of a prefix sum is the suffix sum (and vice versa), with the same exclusivity.
  vjp: ({ node, b }, [g]) => {
    const x = node.inputs[0]!;
    if (!g || !differentiable(x)) return [null];
    const { axis, exclusive, reverse } = node.attrs as CumsumAttrs;
    return [graphOps(b).op("cumsum", [g], { axis, exclusive, reverse: reverse ? 0 : 1 })];
  },
});

type TriluAttrs = { readonly upper: number; readonly k: number };

/** Keeps the upper (column − row ≥ k) or lower (column − row ≤ k) triangle of the last two axes; zeros elsewhere. */
export const trilu = defineOp<TriluAttrs>({
  name: "trilu",
  fusion: "injective",
  attrs: { upper: { kind: "int", default: 1 }, k: { kind: "int", default: 0 } },
  infer: (inputs, _attrs, node) => {
    arity(inputs, 1, node, "trilu");
    const x = inputs[0]!;
    if (x.shape.length < 2) throw new ShapeError(`${at(node, "trilu")}: needs a matrix or a batch of matrices (rank ≥ 2), got ${showType(x)}`);
    return [{ shape: [...x.shape], dtype: x.dtype }];
  },
  compute: ([x], { upper, k }, ctx) => [compute(x!.shape, (...o) => {
    const n = o.length;
    const d: Expr = sub(o[n - 1]!, o[n - 2]!);
    return select(upper ? ge(d, k) : le(d, k), x!.at(...o), float(0, x!.dtype));
  }, ctx.name)],
  vjp: ({ node, b }, [g]) => [g && differentiable(node.inputs[0]!) ? graphOps(b).op("trilu", [g], node.attrs) : null],
});

export const scanOps = [cumsum, trilu];
