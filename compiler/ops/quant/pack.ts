/**
 * The accelerator's blocked layouts, as graph ops so the interpreter checks them:
 * `block_pack` tiles the first two dimensions into blocks that become the two innermost
 * ([A, B, …rest] → [⌈A/ba⌉, ⌈B/bb⌉, …rest, ba, bb], zero-filled past the edge): NCHW data →
 * N/b · C/bi · H · W · b · bi, OIHW weights → O/bo · I/bi · KH · KW · bo · bi, a matrix
 * [M, K] → M/b · K/bi · b · bi. `block_unpack` inverts it, cropping to `shape`.
 * `qconv2d_packed` and `qmatmul_packed` are the int8 products on packed operands — the
 * computes the accelerator's schedules tensorize.
 */
import type { TensorType } from "../../graph/types.ts";
import { add, and, cast, floordiv, floormod, int, lt, mul, select } from "../../te/expr.ts";
import type { Expr } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { checkInts, expectArity, expectRank, intsAttr, shapeError } from "../nn/common.ts";
import { staticDims, expectDtype } from "./common.ts";
import { noGrad } from "./quantize.ts";
import { convOut, imul, paddedAt, qconvParams } from "./qlinear.ts";

const ceilDiv = (a: number, b: number): number => Math.ceil(a / b);

export const blockPack: OpDef = defineOp({
  name: "block_pack",
  fusion: "injective",
  attrs: { blocks: { kind: "ints" } },
  infer: (inputs, a, node) => {
    expectArity(node, "block_pack", inputs, 1);
    const [ba, bb] = intsAttr(a, "blocks");
    checkInts(node, "block_pack", "blocks", intsAttr(a, "blocks"), 2, 1);
    const s = staticDims(node, "block_pack", inputs, 0);
    if (s.length < 2) throw shapeError(node, "block_pack", "needs rank ≥ 2", inputs);
    return [{ shape: [ceilDiv(s[0]!, ba!), ceilDiv(s[1]!, bb!), ...s.slice(2), ba!, bb!], dtype: inputs[0]!.dtype }];
  },
  compute: ([x], a, ctx) => {
    const [ba, bb] = intsAttr(a, "blocks") as [number, number];
    const out = ctx.outputs[0]!.shape as number[];
    const A = x!.shape[0]!, B = x!.shape[1]!;
    return [compute(out, (...ix) => {
      const r = ix.length;
      const i = add(mul(ix[0]!, ba), ix[r - 2]!), j = add(mul(ix[1]!, bb), ix[r - 1]!);
      const inside = and(lt(i, A), lt(j, B));
      // Past the edge the read is redirected to index 0 (in bounds) and its value discarded by the select.
      const safe = (v: Expr, n: Expr) => select(lt(v, n), v, int(0));
      return select(inside, x!.at(safe(i, A), safe(j, B), ...ix.slice(2, r - 2)), int(0, x!.dtype));
    }, ctx.name)];
  },
  vjp: noGrad,
});

export const blockUnpack: OpDef = defineOp({
  name: "block_unpack",
  fusion: "injective",
  attrs: { shape: { kind: "ints" } },
  infer: (inputs, a, node) => {
    expectArity(node, "block_unpack", inputs, 1);
    const s = staticDims(node, "block_unpack", inputs, 0);
    const [A, B] = intsAttr(a, "shape");
    checkInts(node, "block_unpack", "shape", intsAttr(a, "shape"), 2, 1);
    const r = s.length;
    if (r < 4 || A! > s[0]! * s[r - 2]! || B! > s[1]! * s[r - 1]!) {
      throw shapeError(node, "block_unpack", `shape [${A}, ${B}] does not fit the blocked tensor`, inputs);
    }
    return [{ shape: [A!, B!, ...s.slice(2, r - 2)], dtype: inputs[0]!.dtype }];
  },
  compute: ([x], _a, ctx) => {
    const r = x!.shape.length;
    const ba = x!.shape[r - 2]!, bb = x!.shape[r - 1]!;
    return [compute(ctx.outputs[0]!.shape as number[], (i, j, ...rest) =>
      x!.at(floordiv(i!, ba), floordiv(j!, bb), ...rest, floormod(i!, ba), floormod(j!, bb)), ctx.name)];
  },
  vjp: noGrad,
});

/** out[no, oo, y, z, b, o] = Σ_{co, kh, kw, i} pad(x)[no, co, y·s + kh, z·s + kw, b, i] · w[oo, co, kh, kw, o, i]. */
export const qconv2dPacked: OpDef = defineOp({
  name: "qconv2d_packed",
  fusion: "outEWiseFusable",
  attrs: { strides: { kind: "ints", default: [1, 1] }, pads: { kind: "ints", default: [0, 0, 0, 0] } },
  infer: (inputs, a, node) => {
    const op = "qconv2d_packed";
    expectArity(node, op, inputs, 2);
    for (const k of [0, 1]) { expectRank(node, op, inputs, k, 6, k ? "w" : "x"); expectDtype(node, op, inputs, k, ["i8"]); }
    const p = qconvParams(a, node, op);
    const x = staticDims(node, op, inputs, 0), w = staticDims(node, op, inputs, 1);
    if (x[1] !== w[1] || x[5] !== w[5]) throw shapeError(node, op, "input channel blocks of x and w differ", inputs);
    const oh = convOut(x[2]!, w[2]!, p.pads[0] + p.pads[2], p.strides[0], node, op, inputs);
    const ow = convOut(x[3]!, w[3]!, p.pads[1] + p.pads[3], p.strides[1], node, op, inputs);
    return [{ shape: [x[0]!, w[0]!, oh, ow, x[4]!, w[4]!], dtype: "i32" }];
  },
  compute: ([x, w], a, ctx) => {
    const p = qconvParams(a, ctx.name, "qconv2d_packed");
    const rc = reduceAxis(w!.shape[1]!, "rco"), rh = reduceAxis(w!.shape[2]!, "rh"), rw = reduceAxis(w!.shape[3]!, "rw");
    const ri = reduceAxis(w!.shape[5]!, "rci");
    return [compute(ctx.outputs[0]!.shape as number[], (n, f, y, z, b, o) => {
      const h = add(mul(y!, p.strides[0]), rh.var), v = add(mul(z!, p.strides[1]), rw.var);
      const xv = paddedAt(x!, [n!, rc.var, h, v, b!, ri.var], 2, 3, p.pads[0], p.pads[1]);
      return sum([rc, rh, rw, ri], mul(xv, cast("i32", w!.at(f!, rc.var, rh.var, rw.var, o!, ri.var))));
    }, ctx.name, { axisNames: ["n.o", "co.o", "y", "x", "n.i", "co.i"] })];
  },
  vjp: noGrad,
});

/** out[mo, oo, b, o] = Σ_{ko, i} x[mo, ko, b, i] · w[oo, ko, o, i]. */
export const qmatmulPacked: OpDef = defineOp({
  name: "qmatmul_packed",
  fusion: "outEWiseFusable",
  attrs: {},
  infer: (inputs, _a, node) => {
    const op = "qmatmul_packed";
    expectArity(node, op, inputs, 2);
    for (const k of [0, 1]) { expectRank(node, op, inputs, k, 4, k ? "w" : "x"); expectDtype(node, op, inputs, k, ["i8"]); }
    const [x, w] = inputs as [TensorType, TensorType];
    if (x.shape[1] !== w.shape[1] || x.shape[3] !== w.shape[3]) throw shapeError(node, op, "inner blocks of x and w differ", inputs);
    return [{ shape: [x.shape[0]!, w.shape[0]!, x.shape[2]!, w.shape[2]!], dtype: "i32" }];
  },
  compute: ([x, w], _a, ctx) => {
    const rk = reduceAxis(x!.shape[1]!, "rko"), ri = reduceAxis(x!.shape[3]!, "rki");
    return [compute([x!.shape[0]!, w!.shape[0]!, x!.shape[2]!, w!.shape[2]!], (m, f, b, o) =>
      sum([rk, ri], imul(x!.at(m!, rk.var, b!, ri.var), w!.at(f!, rk.var, o!, ri.var))), ctx.name)];
  },
  vjp: noGrad,
});
