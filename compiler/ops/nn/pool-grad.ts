/**
 * Pooling gradients, each a full op, and the adjoints that make them differentiable again:
 * - max_pool2d_grad(dy, x): dy to each window's first maximum (row-major order on ties);
 *   its adjoint in dy is max_pool2d_gather(v, x) (v read at each window's first maximum),
 *   whose adjoint in v is max_pool2d_grad again. Both are piecewise constant in x (no gradient).
 * - avg_pool2d_grad(dy, x): dy / count spread over each window; its adjoint is avg_pool2d.
 * - the global variants, the same with one window covering H·W.
 * Windowed grads gather rather than scatter: input position h is covered by the windows
 * o = ⌊(h + pad)/stride⌋ − r for r < ⌈kernel/stride⌉ that lie inside the output.
 */
import type { TensorType } from "../../graph/types.ts";
import { sameType, showType } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, and, cast, div, eq, floordiv, ge, lt, mul, select, sub } from "../../te/expr.ts";
import type { IterVar } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { boolAttr, expectArity, expectSameDtype, outShape, padSpatial, shapeError, times } from "./common.ts";
import type { PoolParams } from "./pool.ts";
import {
  AVG_POOL_ATTRS, POOL_ATTRS, globalArgmax, inferGlobal, inferPool, padPos, poolParams, windowArgmax, windowAxes, windowCount, windowPos,
} from "./pool.ts";

/** Checks (dy or v, x): x is a pool input, and input 0 has `want`'s type (the pool's output, or x's). */
function checkPair(inputs: readonly TensorType[], node: string, op: string, want: (x: TensorType) => TensorType, what: string): void {
  expectArity(node, op, inputs, 2);
  expectSameDtype(node, op, inputs, [0, 1]);
  const w = want(inputs[1]!);
  if (!sameType(inputs[0]!, w)) throw shapeError(node, op, `${what} must be ${showType(w)}`, inputs);
}

/**
 * The windows that cover input point h (spatial indices), as reduce axes with a validity
 * condition. Along an axis where windows do not overlap (kernel ≤ stride) one window at most
 * covers h, and it needs no reduce axis: with none left the gradient is a plain select, which
 * schedules as an elementwise stage rather than a reduction.
 */
function coveringWindows(p: PoolParams, h: readonly Expr[], outSpatial: readonly Expr[]): { axes: IterVar[]; o: Expr[]; off: Expr[]; valid: Expr } {
  const axes: IterVar[] = [];
  const conds: Expr[] = [];
  const o: Expr[] = [], off: Expr[] = [];
  h.forEach((v, i) => {
    const s = p.strides[i]!, covering = Math.ceil(p.kernel[i]! / s);
    const t = p.before[i]! === 0 ? v : add(v, p.before[i]!);
    const first = s === 1 ? t : floordiv(t, s);
    let oi = first;
    if (covering > 1) {
      const r = reduceAxis(covering, `rw${i}`);
      axes.push(r);
      oi = sub(first, r.var);
    }
    const offi = sub(t, times(oi, s));
    conds.push(ge(oi, 0), lt(oi, outSpatial[i]!), lt(offi, p.kernel[i]!));
    o.push(oi);
    off.push(offi);
  });
  return { axes, o, off, valid: conds.reduce((a, b) => and(a, b)) };
}

/** Σ over the covering windows of `term` where valid (a select when one window at most covers the point). */
const overWindows = (w: ReturnType<typeof coveringWindows>, term: Expr): Expr =>
  w.axes.length === 0 ? select(w.valid, term, 0) : sum(w.axes, term, { where: w.valid });

export const maxPool2dGrad: OpDef = defineOp({
  name: "max_pool2d_grad",
  fusion: "outEWiseFusable",
  attrs: POOL_ATTRS,
  infer: (inputs, a, node) => {
    const p = poolParams(a, node, "max_pool2d_grad");
    checkPair(inputs, node, "max_pool2d_grad", () => inferPool(p, inputs, node, "max_pool2d_grad", 1), "dy (the pool's output gradient)");
    return [inputs[1]!];
  },
  compute: ([dy, x], a, ctx) => {
    const p = poolParams(a, ctx.name, "max_pool2d_grad");
    const A = windowArgmax(p, x!, dy!.shape, ctx.name);
    return [compute(outShape(ctx), (n, c, ...h) => {
      const w = coveringWindows(p, h, dy!.shape.slice(2));
      return overWindows(w, select(eq(A.at(n!, c!, ...w.o), windowPos(p, w.off)), dy!.at(n!, c!, ...w.o), 0));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("max_pool2d_gather", [g, node.inputs[1]!], node.attrs), null] : [null, null]),
});

export const maxPool2dGather: OpDef = defineOp({
  name: "max_pool2d_gather",
  fusion: "outEWiseFusable",
  attrs: POOL_ATTRS,
  infer: (inputs, a, node) => {
    const p = poolParams(a, node, "max_pool2d_gather");
    checkPair(inputs, node, "max_pool2d_gather", (x) => x, "v (read at each window's maximum of x)");
    return [inferPool(p, inputs, node, "max_pool2d_gather", 1)];
  },
  compute: ([v, x], a, ctx) => {
    const p = poolParams(a, ctx.name, "max_pool2d_gather");
    const shape = outShape(ctx);
    const A = windowArgmax(p, x!, shape, ctx.name);
    const V = padSpatial(v!, p.before, p.after, 0, `${ctx.name}.vpad`);
    const rk = windowAxes(p);
    return [compute(shape, (n, c, ...o) => {
      const r = rk.map((q) => q.var);
      return sum(rk, select(eq(A.at(n!, c!, ...o), windowPos(p, r)), V.at(n!, c!, ...padPos(p, o, r)), 0));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("max_pool2d_grad", [g, node.inputs[1]!], node.attrs), null] : [null, null]),
});

export const avgPool2dGrad: OpDef = defineOp({
  name: "avg_pool2d_grad",
  fusion: "outEWiseFusable",
  attrs: AVG_POOL_ATTRS,
  infer: (inputs, a, node) => {
    const p = poolParams(a, node, "avg_pool2d_grad");
    checkPair(inputs, node, "avg_pool2d_grad", () => inferPool(p, inputs, node, "avg_pool2d_grad", 1), "dy (the pool's output gradient)");
    return [inputs[1]!];
  },
  compute: ([dy, x], a, ctx) => {
    const p = poolParams(a, ctx.name, "avg_pool2d_grad");
    const includePad = boolAttr(a, "count_include_pad");
    return [compute(outShape(ctx), (n, c, ...h) => {
      const w = coveringWindows(p, h, dy!.shape.slice(2));
      return overWindows(w, div(dy!.at(n!, c!, ...w.o), windowCount(p, x!.shape, w.o, includePad, x!.dtype)));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("avg_pool2d", [g], node.attrs), null] : [null, null]),
});

// ---- global ----

export const globalAvgPool2dGrad: OpDef = defineOp({
  name: "global_avg_pool2d_grad",
  fusion: "broadcast",
  attrs: {},
  infer: (inputs, _a, node) => {
    checkPair(inputs, node, "global_avg_pool2d_grad", () => inferGlobal(inputs, node, "global_avg_pool2d_grad", 1), "dy (the pool's output gradient)");
    return [inputs[1]!];
  },
  compute: ([dy, x], _a, ctx) => {
    const [, , H, W] = x!.shape as [Expr, Expr, Expr, Expr];
    return [compute(outShape(ctx), (n, c) => div(dy!.at(n!, c!, 0, 0), cast(x!.dtype, mul(H, W))), ctx.name)];
  },
  vjp: ({ b }, [g]) => (g ? [b.op1("global_avg_pool2d", [g]), null] : [null, null]),
});

export const globalMaxPool2dGrad: OpDef = defineOp({
  name: "global_max_pool2d_grad",
  fusion: "opaque",
  attrs: {},
  infer: (inputs, _a, node) => {
    checkPair(inputs, node, "global_max_pool2d_grad", () => inferGlobal(inputs, node, "global_max_pool2d_grad", 1), "dy (the pool's output gradient)");
    return [inputs[1]!];
  },
  compute: ([dy, x], _a, ctx) => {
    const A = globalArgmax(x!, ctx.name);
    const W = x!.shape[3]!;
    return [compute(outShape(ctx), (n, c, h, w) => select(eq(add(mul(h!, W), w!), A.at(n!, c!)), dy!.at(n!, c!, 0, 0), 0), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("global_max_pool2d_gather", [g, node.inputs[1]!]), null] : [null, null]),
});

export const globalMaxPool2dGather: OpDef = defineOp({
  name: "global_max_pool2d_gather",
  fusion: "opaque",
  attrs: {},
  infer: (inputs, _a, node) => {
    checkPair(inputs, node, "global_max_pool2d_gather", (x) => x, "v (read at the maximum of x)");
    return [inferGlobal(inputs, node, "global_max_pool2d_gather", 1)];
  },
  compute: ([v, x], _a, ctx) => {
    const A = globalArgmax(x!, ctx.name);
    const [, , H, W] = x!.shape as [Expr, Expr, Expr, Expr];
    const rh = reduceAxis(H, "rh"), rw = reduceAxis(W, "rw");
    // A sum with one selected term rather than an indexed read, so that no index is ever out of bounds.
    return [compute(outShape(ctx), (n, c) =>
      sum([rh, rw], select(eq(add(mul(rh.var, W), rw.var), A.at(n!, c!)), v!.at(n!, c!, rh.var, rw.var), 0)), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("global_max_pool2d_grad", [g, node.inputs[1]!]), null] : [null, null]),
});
