/**
 * 2-D pooling over NCHW data: max_pool2d and avg_pool2d with kernel, strides and pads
 * (through a padded stage: −∞ for max, 0 for avg), and the global pools (output N·C·1·1).
 * avg_pool2d divides by the in-bounds element count unless count_include_pad.
 *
 * Max-pool gradients go to the window's maximum; on ties, to the first maximum in the
 * window's row-major order (a subgradient; PyTorch picks the same one on CPU). The grads
 * and their adjoints live in pool-grad.ts.
 */
import type { Attrs } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import type { DType } from "../../../core/dtype.ts";
import type { Expr } from "../../te/expr.ts";
import { add, cast, div, eq, int, max, min, mul, select, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, identityOf, reduceAxis, rmax, rmin, sum } from "../../te/tensor.ts";
import type { AttrSpec, OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, boolAttr, checkInts, expectArity, expectFloat, expectRank, flatIndex, intsAttr, outShape, padSpatial, plus, product, times, windowOut } from "./common.ts";

export interface PoolParams {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  readonly before: readonly number[];
  readonly after: readonly number[];
}

export const POOL_ATTRS: Record<string, AttrSpec> = {
  kernel: { kind: "ints" },
  strides: { kind: "ints", default: [1, 1] },
  pads: { kind: "ints", default: [0, 0, 0, 0] },
};
export const AVG_POOL_ATTRS: Record<string, AttrSpec> = { ...POOL_ATTRS, count_include_pad: { kind: "bool", default: false } };

export function poolParams(a: Attrs, node: string, op: string): PoolParams {
  const kernel = intsAttr(a, "kernel"), strides = intsAttr(a, "strides"), pads = intsAttr(a, "pads");
  checkInts(node, op, "kernel", kernel, 2, 1);
  checkInts(node, op, "strides", strides, 2, 1);
  checkInts(node, op, "pads", pads, 4, 0);
  // A pad as wide as the kernel would allow windows with no input element in them.
  pads.forEach((p, k) => {
    if (p >= kernel[k % 2]!) throw attrError(node, op, `pads [${pads.join(", ")}] must be smaller than the kernel [${kernel.join(", ")}]`);
  });
  return { kernel, strides, before: pads.slice(0, 2), after: pads.slice(2) };
}

export const poolAttrs = (p: PoolParams): Attrs => ({ kernel: [...p.kernel], strides: [...p.strides], pads: [...p.before, ...p.after] });

/** Output type of a windowed pool of an N·C·H·W input. */
export function inferPool(p: PoolParams, inputs: readonly TensorType[], node: string, op: string, k = 0): TensorType {
  expectRank(node, op, inputs, k, 4, "the input");
  expectFloat(node, op, inputs, [k]);
  const x = inputs[k]!;
  const spatial = x.shape.slice(2).map((n, i) => windowOut(node, op, inputs, n, p.before[i]! + p.after[i]!, p.kernel[i]!, p.strides[i]!));
  return { shape: [x.shape[0]!, x.shape[1]!, ...spatial], dtype: x.dtype };
}

/** Reduce axes over a window, and the window-relative flat position of a point in it. */
export function windowAxes(p: PoolParams): ReturnType<typeof reduceAxis>[] {
  return p.kernel.map((k, i) => reduceAxis(k, `r${i}`));
}
export const windowPos = (p: PoolParams, offs: readonly Expr[]): Expr => flatIndex(offs, p.kernel.map((k) => int(k)));

/** Position in the padded input of output o's window offset r. */
export const padPos = (p: PoolParams, o: readonly Expr[], r: readonly Expr[]): Expr[] =>
  o.map((v, i) => add(times(v, p.strides[i]!), r[i]!));

/** The −∞-padded input and each window's maximum. */
export function windowMax(p: PoolParams, x: TeTensor, shape: readonly Expr[], name: string): { P: TeTensor; M: TeTensor } {
  const P = padSpatial(x, p.before, p.after, identityOf("max", x.dtype), `${name}.pad`);
  const rk = windowAxes(p);
  const M = compute(shape, (n, c, ...o) => rmax(rk, P.at(n!, c!, ...padPos(p, o, rk.map((r) => r.var)))), name);
  return { P, M };
}

/**
 * The window-relative row-major position of each window's first maximum (i32); the kernel
 * size when no element equals the maximum (NaN inputs).
 */
export function windowArgmax(p: PoolParams, x: TeTensor, shape: readonly Expr[], name: string): TeTensor {
  const { P, M } = windowMax(p, x, shape, `${name}.max`);
  const rk = windowAxes(p);
  const kk = p.kernel.reduce((a, b) => a * b, 1);
  return compute(shape, (n, c, ...o) => {
    const r = rk.map((a) => a.var);
    return rmin(rk, select(eq(P.at(n!, c!, ...padPos(p, o, r)), M.at(n!, c!, ...o)), windowPos(p, r), kk));
  }, `${name}.argmax`);
}

/** The number of elements averaged by output o's window (in-bounds ones, or the whole kernel). */
export function windowCount(p: PoolParams, inShape: readonly Expr[], o: readonly Expr[], includePad: boolean, dtype: DType): Expr {
  if (includePad) return cast(dtype, int(p.kernel.reduce((a, b) => a * b, 1)));
  const perAxis = o.map((v, i) => {
    const start = sub(times(v, p.strides[i]!), p.before[i]!);
    return sub(min(plus(start, p.kernel[i]!), inShape[2 + i]!), max(start, 0));
  });
  return cast(dtype, perAxis.reduce((a, b) => mul(a, b)));
}

export function avgPoolCompute(p: PoolParams, x: TeTensor, shape: readonly Expr[], includePad: boolean, name: string): TeTensor {
  const P = padSpatial(x, p.before, p.after, 0, `${name}.pad`);
  const rk = windowAxes(p);
  const S = compute(shape, (n, c, ...o) => sum(rk, P.at(n!, c!, ...padPos(p, o, rk.map((r) => r.var)))), `${name}.sum`);
  return compute(shape, (n, c, ...o) => div(S.at(n!, c!, ...o), windowCount(p, x.shape, o, includePad, x.dtype)), name);
}

export const maxPool2d: OpDef = defineOp({
  name: "max_pool2d",
  fusion: "outEWiseFusable",
  attrs: POOL_ATTRS,
  infer: (inputs, a, node) => { expectArity(node, "max_pool2d", inputs, 1); return [inferPool(poolParams(a, node, "max_pool2d"), inputs, node, "max_pool2d")]; },
  compute: ([x], a, ctx) => [windowMax(poolParams(a, ctx.name, "max_pool2d"), x!, outShape(ctx), ctx.name).M],
  // max_pool2d_grad takes the same attributes.
  vjp: ({ node, b }, [g]) => (g ? [b.op1("max_pool2d_grad", [g, node.inputs[0]!], node.attrs)] : [null]),
});

export const avgPool2d: OpDef = defineOp({
  name: "avg_pool2d",
  fusion: "outEWiseFusable",
  attrs: AVG_POOL_ATTRS,
  infer: (inputs, a, node) => { expectArity(node, "avg_pool2d", inputs, 1); return [inferPool(poolParams(a, node, "avg_pool2d"), inputs, node, "avg_pool2d")]; },
  compute: ([x], a, ctx) => [avgPoolCompute(poolParams(a, ctx.name, "avg_pool2d"), x!, outShape(ctx), boolAttr(a, "count_include_pad"), ctx.name)],
  vjp: ({ node, b }, [g]) => (g ? [b.op1("avg_pool2d_grad", [g, node.inputs[0]!], node.attrs)] : [null]),
});

// ---- global pools ----

export function inferGlobal(inputs: readonly TensorType[], node: string, op: string, k = 0): TensorType {
  expectRank(node, op, inputs, k, 4, "the input");
  expectFloat(node, op, inputs, [k]);
  const x = inputs[k]!;
  return { shape: [x.shape[0]!, x.shape[1]!, 1, 1], dtype: x.dtype };
}

/** The global maximum's first row-major flat position h·W + w per (n, c) (H·W when none: NaN inputs). */
export function globalArgmax(x: TeTensor, name: string): TeTensor {
  const [N, C, H, W] = x.shape as [Expr, Expr, Expr, Expr];
  const rh = reduceAxis(H, "rh"), rw = reduceAxis(W, "rw");
  const M = compute([N, C], (n, c) => rmax([rh, rw], x.at(n!, c!, rh.var, rw.var)), `${name}.max`);
  const qh = reduceAxis(H, "rh"), qw = reduceAxis(W, "rw");
  return compute([N, C], (n, c) => rmin([qh, qw], select(eq(x.at(n!, c!, qh.var, qw.var), M.at(n!, c!)), add(mul(qh.var, W), qw.var), mul(H, W))),
    `${name}.argmax`);
}

export const globalAvgPool2d: OpDef = defineOp({
  name: "global_avg_pool2d",
  fusion: "reduce",
  attrs: {},
  infer: (inputs, _a, node) => { expectArity(node, "global_avg_pool2d", inputs, 1); return [inferGlobal(inputs, node, "global_avg_pool2d")]; },
  compute: ([x], _a, ctx) => {
    const [N, C, H, W] = x!.shape as [Expr, Expr, Expr, Expr];
    const rh = reduceAxis(H, "rh"), rw = reduceAxis(W, "rw");
    const S = compute([N, C, 1, 1], (n, c) => sum([rh, rw], x!.at(n!, c!, rh.var, rw.var)), `${ctx.name}.sum`);
    return [compute([N, C, 1, 1], (n, c, i, j) => div(S.at(n!, c!, i!, j!), cast(x!.dtype, product([H, W]))), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("global_avg_pool2d_grad", [g, node.inputs[0]!])] : [null]),
});

export const globalMaxPool2d: OpDef = defineOp({
  name: "global_max_pool2d",
  fusion: "reduce",
  attrs: {},
  infer: (inputs, _a, node) => { expectArity(node, "global_max_pool2d", inputs, 1); return [inferGlobal(inputs, node, "global_max_pool2d")]; },
  compute: ([x], _a, ctx) => {
    const [N, C, H, W] = x!.shape as [Expr, Expr, Expr, Expr];
    const rh = reduceAxis(H, "rh"), rw = reduceAxis(W, "rw");
    return [compute([N, C, 1, 1], (n, c) => rmax([rh, rw], x!.at(n!, c!, rh.var, rw.var)), ctx.name)];
  },
  vjp: ({ node, b }, [g]) => (g ? [b.op1("global_max_pool2d_grad", [g, node.inputs[0]!])] : [null]),
});
