/**
 * int8 × int8 → int32 products, the accelerator's GEMM semantics: `qmatmul` (x[M, K] by
 * weights stored output-major w[O, K], as the core holds them) and `qconv2d` (NCHW data,
 * OIHW weights, stride and zero padding; groups and dilation 1). Products and the sum are
 * int32 (no saturation: |Σ| ≤ 128² · K stays far below 2^31 for K < 131072).
 */
import type { Attrs } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { add, and, cast, ge, int, lt, mul, select, sub } from "../../te/expr.ts";
import type { Expr } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { checkInts, expectArity, expectRank, intsAttr, shapeError } from "../nn/common.ts";
import { expectDtype } from "./common.ts";
import { noGrad } from "./quantize.ts";

/** x·w as int32. */
export const imul = (x: Expr, w: Expr): Expr => mul(cast("i32", x), cast("i32", w));

export const qmatmul: OpDef = defineOp({
  name: "qmatmul",
  fusion: "outEWiseFusable",
  attrs: {},
  infer: (inputs, _a, node) => {
    expectArity(node, "qmatmul", inputs, 2);
    for (const k of [0, 1]) { expectRank(node, "qmatmul", inputs, k, 2, k ? "w" : "x"); expectDtype(node, "qmatmul", inputs, k, ["i8"]); }
    const [x, w] = inputs as [TensorType, TensorType];
    if (x.shape[1] !== w.shape[1]) throw shapeError(node, "qmatmul", `inner dimensions differ (x has ${x.shape[1]}, w[O, K] has ${w.shape[1]})`, inputs);
    return [{ shape: [x.shape[0]!, w.shape[0]!], dtype: "i32" }];
  },
  compute: ([x, w], _a, ctx) => {
    const k = reduceAxis(x!.shape[1]!, "k");
    return [compute([x!.shape[0]!, w!.shape[0]!], (i, o) => sum(k, imul(x!.at(i!, k.var), w!.at(o!, k.var))), ctx.name)];
  },
  vjp: noGrad,
});

export interface QConvParams { readonly strides: readonly [number, number]; readonly pads: readonly [number, number, number, number] }

export function qconvParams(a: Attrs, node: string, op: string): QConvParams {
  const strides = intsAttr(a, "strides"), pads = intsAttr(a, "pads");
  checkInts(node, op, "strides", strides, 2, 1);
  checkInts(node, op, "pads", pads, 4, 0);
  return { strides: [strides[0]!, strides[1]!], pads: [pads[0]!, pads[1]!, pads[2]!, pads[3]!] };
}

/** Output spatial size along one axis, or a ShapeError naming the node. */
export function convOut(n: number, k: number, padSum: number, stride: number, node: string, op: string, inputs: readonly TensorType[]): number {
  if (n + padSum < k) throw shapeError(node, op, `the ${k}-wide window does not fit the padded input (${n} + ${padSum})`, inputs);
  return Math.floor((n + padSum - k) / stride) + 1;
}

/**
 * A zero-padded read of `t` at spatial indices (h, w) in dimensions (dh, dw): the
 * padded-stage-free form, so packed layouts (spatial not last) pad the same way.
 */
export function paddedAt(t: TeTensor, idx: readonly Expr[], dh: number, dw: number, top: number, left: number): Expr {
  const h = idx[dh]!, w = idx[dw]!;
  const H = t.shape[dh]!, W = t.shape[dw]!;
  const at = idx.map((e, d) => (d === dh ? sub(h, top) : d === dw ? sub(w, left) : e));
  const inside = and(and(ge(h, top), lt(h, add(H, top))), and(ge(w, left), lt(w, add(W, left))));
  return select(inside, cast("i32", t.at(...at)), int(0));
}

export const qconv2d: OpDef = defineOp({
  name: "qconv2d",
  fusion: "outEWiseFusable",
  attrs: { strides: { kind: "ints", default: [1, 1] }, pads: { kind: "ints", default: [0, 0, 0, 0] } },
  infer: (inputs, a, node) => {
    const op = "qconv2d";
    expectArity(node, op, inputs, 2);
    for (const k of [0, 1]) { expectRank(node, op, inputs, k, 4, k ? "w" : "x"); expectDtype(node, op, inputs, k, ["i8"]); }
    const p = qconvParams(a, node, op);
    const [x, w] = inputs as [TensorType, TensorType];
    if (x.shape[1] !== w.shape[1]) throw shapeError(node, op, `input channels ${x.shape[1]} do not match the weight's ${w.shape[1]}`, inputs);
    const [H, W, KH, KW] = [x.shape[2], x.shape[3], w.shape[2], w.shape[3]];
    if (![H, W, KH, KW].every((d) => typeof d === "number")) throw shapeError(node, op, "spatial and kernel dimensions must be static", inputs);
    const oh = convOut(H as number, KH as number, p.pads[0] + p.pads[2], p.strides[0], node, op, inputs);
    const ow = convOut(W as number, KW as number, p.pads[1] + p.pads[3], p.strides[1], node, op, inputs);
    return [{ shape: [x.shape[0]!, w.shape[0]!, oh, ow], dtype: "i32" }];
  },
  compute: ([x, w], a, ctx) => {
    const p = qconvParams(a, ctx.name, "qconv2d");
    const [oh, ow] = ctx.outputs[0]!.shape.slice(2) as number[];
    const rc = reduceAxis(w!.shape[1]!, "rc"), rh = reduceAxis(w!.shape[2]!, "rh"), rw = reduceAxis(w!.shape[3]!, "rw");
    return [compute([x!.shape[0]!, w!.shape[0]!, oh!, ow!], (n, f, y, z) => {
      const h = add(mul(y!, p.strides[0]), rh.var), v = add(mul(z!, p.strides[1]), rw.var);
      const xv = paddedAt(x!, [n!, rc.var, h, v], 2, 3, p.pads[0], p.pads[1]);
      return sum([rc, rh, rw], mul(xv, cast("i32", w!.at(f!, rc.var, rh.var, rw.var))));
    }, ctx.name)];
  },
  vjp: noGrad,
});
