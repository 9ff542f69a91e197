/**
 * Neural-network ONNX ops: MatMul, Gemm, Conv, ConvTranspose, pooling, normalizations,
 * LRN, the softmax family and Flatten. Each becomes Lathe's op of the same meaning where
 * one exists, or a short composition of basic ops; geometry (auto_pad, ceil_mode, 1-D as
 * 2-D) is resolved here from static shapes so the Lathe ops see explicit pads.
 */
import type { Value } from "../../../graph/graph.ts";
import type { DType } from "../../../../core/dtype.ts";
import { isFloat } from "../../../../core/dtype.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { alongAxis, autoPads, ctxError, floatOnly, normAxis, product, staticShape } from "./nn-common.ts";
import { conv3d, pool3d } from "./nn3d.ts";

// ---- MatMul, Gemm ----

/** NumPy matmul: a 1-D operand gains a unit axis (A in front, B behind) that the result drops. */
function matmul(ctx: ConvertContext, a: Value, b: Value): Value {
  if (!isFloat(a.type.dtype) || !isFloat(b.type.dtype)) ctx.unsupported(`integer operands (${a.type.dtype} × ${b.type.dtype}); only floating point is supported`);
  const ra = a.type.shape.length, rb = b.type.shape.length;
  if (ra === 0 || rb === 0) throw ctxError(ctx, "MatMul operands must have rank ≥ 1");
  const a2 = ra === 1 ? ctx.op("unsqueeze", [a], { axes: [0] }) : a;
  const b2 = rb === 1 ? ctx.op("unsqueeze", [b], { axes: [1] }) : b;
  let y = ctx.op("matmul", [a2, b2]);
  const r = y.type.shape.length;
  const drop = [...(ra === 1 ? [r - 2] : []), ...(rb === 1 ? [r - 1] : [])];
  if (drop.length) y = ctx.op("squeeze", [y], { axes: drop });
  return y;
}

function gemm(ctx: ConvertContext): Value {
  const a = ctx.input(0), b = ctx.input(1);
  floatOnly(ctx, a, "A");
  if (a.type.shape.length !== 2 || b.type.shape.length !== 2) throw ctxError(ctx, "Gemm operands A and B must be 2-D");
  const t = a.type.dtype;
  const alpha = ctx.attrs.float("alpha", 1), beta = ctx.attrs.float("beta", 1);
  let y = ctx.op("matmul", [a, b], { transA: ctx.attrs.int("transA", 0) !== 0, transB: ctx.attrs.int("transB", 0) !== 0 });
  if (alpha !== 1) y = ctx.op("mul", [y, ctx.scalar(alpha, t)]);
  const c = ctx.optional(2);
  if (c && beta !== 0) y = ctx.op("add", [y, beta === 1 ? c : ctx.op("mul", [c, ctx.scalar(beta, t)])]);
  return y;
}

// ---- Conv, ConvTranspose ----

interface ConvGeometry {
  readonly spatial: number[];
  readonly kernel: number[];
  readonly strides: number[];
  readonly dilations: number[];
}

/** Spatial rank 1 or 2 (Lathe's conv1d/conv2d); kernel from the attribute or the weights. */
function convGeometry(ctx: ConvertContext, x: Value, w: Value): ConvGeometry {
  const rank = x.type.shape.length;
  if (rank === 5) ctx.unsupported("3-D transposed convolution");
  if (rank !== 3 && rank !== 4) throw ctxError(ctx, `input must be [N, C, spatial…] of rank 3 or 4, got rank ${rank}`);
  const n = rank - 2;
  // The batch may stay symbolic; the spatial extents decide the geometry.
  const spatial = x.type.shape.slice(2).map((d) => (typeof d === "number" ? d : ctx.unsupported(`symbolic spatial dimension ${d} of the input`)));
  const kernel = ctx.attrs.ints("kernel_shape", staticShape(ctx, w, "weights").slice(2));
  const strides = ctx.attrs.ints("strides", new Array<number>(n).fill(1));
  const dilations = ctx.attrs.ints("dilations", new Array<number>(n).fill(1));
  for (const [what, v] of [["kernel_shape", kernel], ["strides", strides], ["dilations", dilations]] as const) {
    if (v.length !== n) throw ctxError(ctx, `${what} has ${v.length} entries, expected ${n}`);
  }
  return { spatial, kernel, strides, dilations };
}

/** Adds a per-channel bias [M] to an [N, M, …] result. */
const addBias = (ctx: ConvertContext, y: Value, bias: Value | undefined): Value =>
  bias ? ctx.op("add", [y, alongAxis(ctx, bias, 1, y.type.shape.length)]) : y;

function conv(ctx: ConvertContext): Value {
  const x = ctx.input(0), w = ctx.input(1);
  if (x.type.shape.length === 5) return addBias(ctx, conv3d(ctx, x, w), ctx.optional(2));
  floatOnly(ctx, x);
  const g = convGeometry(ctx, x, w);
  const pads = autoPads(ctx, g.spatial, g.kernel, g.strides, g.dilations);
  const op = g.spatial.length === 1 ? "conv1d" : "conv2d";
  const y = ctx.op(op, [x, w], { strides: g.strides, pads, dilations: g.dilations, groups: ctx.attrs.int("group", 1) });
  return addBias(ctx, y, ctx.optional(2));
}

function convTranspose(ctx: ConvertContext): Value {
  const x = ctx.input(0), w = ctx.input(1);
  floatOnly(ctx, x);
  const g = convGeometry(ctx, x, w);
  const n = g.spatial.length;
  const outputPadding = ctx.attrs.ints("output_padding", new Array<number>(n).fill(0));
  const autoPad = ctx.attrs.string("auto_pad", "NOTSET");
  let pads: number[];
  // The full-size output, s·(in − 1) + output_padding + (k − 1)·d + 1, trimmed by the pads.
  const full = g.spatial.map((s, k) => g.strides[k]! * (s - 1) + outputPadding[k]! + (g.kernel[k]! - 1) * g.dilations[k]! + 1);
  if (ctx.attrs.has("output_shape") || autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER") {
    const wanted = ctx.attrs.has("output_shape") ? ctx.attrs.ints("output_shape").slice(-n) : g.spatial.map((s, k) => s * g.strides[k]!);
    const before: number[] = [], after: number[] = [];
    for (let k = 0; k < n; k++) {
      const total = full[k]! - wanted[k]!;
      if (total < 0) {
        // A larger output than the kernel covers: the extra cells are output padding (zeros plus bias).
        outputPadding[k] = outputPadding[k]! - total;
        before.push(0);
        after.push(0);
        continue;
      }
      const small = Math.floor(total / 2);
      // SAME_UPPER puts the odd cell's padding at the start (the output keeps its end), as onnxruntime does.
      before.push(autoPad === "SAME_UPPER" ? small : total - small);
      after.push(autoPad === "SAME_UPPER" ? total - small : small);
    }
    pads = [...before, ...after];
  } else if (autoPad === "VALID") {
    pads = new Array<number>(2 * n).fill(0);
  } else {
    pads = ctx.attrs.ints("pads", new Array<number>(2 * n).fill(0));
  }
  const op = n === 1 ? "conv_transpose1d" : "conv_transpose2d";
  const y = ctx.op(op, [x, w], { strides: g.strides, pads, dilations: g.dilations, groups: ctx.attrs.int("group", 1), output_padding: outputPadding });
  return addBias(ctx, y, ctx.optional(2));
}

// ---- Pooling ----

/** The smallest value of a dtype: padding that never wins a max. */
const lowest = (t: DType): number =>
  isFloat(t) ? -Infinity : t === "u8" || t === "bool" ? 0 : t === "i8" ? -128 : t === "i64" ? Number.MIN_SAFE_INTEGER : -2147483648;

interface Pool2d {
  readonly kernel: number[];
  readonly strides: number[];
  readonly dilations: number[];
  /** [top, left, bottom, right] as given (or from auto_pad). */
  readonly pads: number[];
  /** Extra end padding that ceil_mode adds so the output has its size. */
  readonly extra: number[];
  readonly out: number[];
}

/** Pool geometry over the last two axes, the ONNX attributes lifted to 2-D when the pool is 1-D. */
function poolGeometry(ctx: ConvertContext, spatial: readonly number[], lift: (v: number[], fill: number) => number[]): Pool2d {
  const n = spatial.length;
  const kernel = ctx.attrs.ints("kernel_shape");
  if (kernel.length !== n) throw ctxError(ctx, `kernel_shape has ${kernel.length} entries, expected ${n}`);
  const strides = ctx.attrs.ints("strides", new Array<number>(n).fill(1));
  const dilations = ctx.attrs.ints("dilations", new Array<number>(n).fill(1));
  const pads = autoPads(ctx, spatial, kernel, strides, dilations);
  const ceil = ctx.attrs.int("ceil_mode", 0) !== 0;
  const out: number[] = [], extra: number[] = [];
  for (let k = 0; k < n; k++) {
    const reach = (kernel[k]! - 1) * dilations[k]! + 1;
    const avail = spatial[k]! + pads[k]! + pads[k + n]!;
    const span = avail - reach;
    if (span < 0) throw ctxError(ctx, `kernel (reach ${reach}) is larger than the padded input (${avail}) on spatial axis ${k}`);
    let o = (ceil ? Math.ceil(span / strides[k]!) : Math.floor(span / strides[k]!)) + 1;
    // A window may not start in the end padding only (PyTorch's and onnxruntime's rule).
    if (ceil && (o - 1) * strides[k]! >= spatial[k]! + pads[k]!) o--;
    out.push(o);
    extra.push(Math.max(0, (o - 1) * strides[k]! + reach - avail));
  }
  const liftPads = [...lift(pads.slice(0, n), 0), ...lift(pads.slice(n), 0)];
  return { kernel: lift(kernel, 1), strides: lift(strides, 1), dilations: lift(dilations, 1), pads: liftPads, extra: lift(extra, 0), out: lift(out, 1) };
}

/** Max over the window by strided slices of the padded input: any dilation, any padding. */
function maxPoolBySlices(ctx: ConvertContext, x: Value, p: Pool2d): Value {
  const padded = ctx.op("pad", [x], { pads: [0, 0, p.pads[0]!, p.pads[1]!, 0, 0, p.pads[2]! + p.extra[0]!, p.pads[3]! + p.extra[1]!], value: lowest(x.type.dtype) });
  let y: Value | undefined;
  for (let i = 0; i < p.kernel[0]!; i++) {
    for (let j = 0; j < p.kernel[1]!; j++) {
      const starts = [i * p.dilations[0]!, j * p.dilations[1]!];
      const ends = starts.map((s, k) => s + (p.out[k]! - 1) * p.strides[k]! + 1);
      const win = ctx.op("slice", [padded], { starts, ends, axes: [2, 3], steps: p.strides });
      y = y ? ctx.op("maximum", [y, win]) : win;
    }
  }
  return y!;
}

/**
 * Max pooling whose strides are multiples of its dilations: every window lies on the grid
 * of every d-th padded cell, so it is a plain pool (stride s/d) of that subsampled grid.
 */
function dilatedMaxPool(ctx: ConvertContext, x: Value, p: Pool2d): Value {
  const padded = ctx.op("pad", [x], { pads: [0, 0, p.pads[0]!, p.pads[1]!, 0, 0, p.pads[2]! + p.extra[0]!, p.pads[3]! + p.extra[1]!], value: lowest(x.type.dtype) });
  const ends = p.out.map((o, k) => (o - 1) * p.strides[k]! + (p.kernel[k]! - 1) * p.dilations[k]! + 1);
  const grid = ctx.op("slice", [padded], { starts: [0, 0], ends, axes: [2, 3], steps: p.dilations });
  return ctx.op("max_pool2d", [grid], { kernel: p.kernel, strides: p.strides.map((s, k) => s / p.dilations[k]!), pads: [0, 0, 0, 0] });
}

function pool(ctx: ConvertContext, kind: "max" | "avg"): Value[] {
  let x = ctx.input(0);
  const rank = x.type.shape.length;
  if (ctx.numOutputs > 1) ctx.unsupported("the Indices output");
  if (rank === 5) return [pool3d(ctx, x, kind)];
  if (rank !== 3 && rank !== 4) throw ctxError(ctx, `input must be [N, C, spatial…] of rank 3 or 4, got rank ${rank}`);
  if (ctx.attrs.int("storage_order", 0) !== 0) ctx.unsupported("storage_order = 1");
  // The batch may stay symbolic; the spatial extents decide the geometry.
  const spatial = x.type.shape.slice(2).map((d) => (typeof d === "number" ? d : ctx.unsupported(`symbolic spatial dimension ${d} of the input`)));
  const oneD = rank === 3;
  const p = poolGeometry(ctx, spatial, (v, fill) => (oneD ? [fill, ...v] : v));
  if (oneD) x = ctx.op("unsqueeze", [x], { axes: [2] });
  const fits = (pads: readonly number[]) => pads.every((q, k) => q < p.kernel[k % 2]!);
  const endPads = [p.pads[2]! + p.extra[0]!, p.pads[3]! + p.extra[1]!];
  let y: Value;
  if (kind === "max") {
    const pads = [p.pads[0]!, p.pads[1]!, ...endPads];
    // Lathe's max_pool2d is float-only and has no dilation; the rest is rewritten around it or spelled out as slices.
    const float = isFloat(x.type.dtype);
    if (float && p.dilations.every((d) => d === 1) && fits(pads)) {
      y = ctx.op("max_pool2d", [x], { kernel: p.kernel, strides: p.strides, pads });
    } else if (float && p.strides.every((s, k) => s % p.dilations[k]! === 0)) {
      y = dilatedMaxPool(ctx, x, p);
    } else {
      if (product(p.kernel) > 64) ctx.unsupported(`MaxPool with dilations [${p.dilations.join(", ")}] not dividing strides [${p.strides.join(", ")}] and a ${p.kernel.join("×")} kernel`);
      y = maxPoolBySlices(ctx, x, p);
    }
  } else {
    floatOnly(ctx, x);
    if (p.dilations.some((d) => d !== 1)) ctx.unsupported(`AveragePool dilations [${p.dilations.join(", ")}]`);
    const includePad = ctx.attrs.int("count_include_pad", 0) !== 0 && p.pads.some((q) => q > 0);
    if (includePad && p.extra.some((e) => e > 0)) {
      // Explicit pads count, ceil_mode's extra cells do not: pad with zeros first, pool the rest.
      x = ctx.op("pad", [x], { pads: [0, 0, p.pads[0]!, p.pads[1]!, 0, 0, p.pads[2]!, p.pads[3]!] });
      const pads = [0, 0, ...p.extra];
      if (!fits(pads)) ctx.unsupported("ceil_mode padding as large as the kernel");
      y = ctx.op("avg_pool2d", [x], { kernel: p.kernel, strides: p.strides, pads, count_include_pad: false });
    } else {
      const pads = [p.pads[0]!, p.pads[1]!, ...endPads];
      if (!fits(pads)) ctx.unsupported(`pads [${pads.join(", ")}] as large as the kernel [${p.kernel.join(", ")}]`);
      y = ctx.op("avg_pool2d", [x], { kernel: p.kernel, strides: p.strides, pads, count_include_pad: includePad });
    }
  }
  return [oneD ? ctx.op("squeeze", [y], { axes: [2] }) : y];
}

/** Global pooling over every axis after N, C (Lathe's 2-D global pools for rank 4, reductions otherwise). */
function globalPool(ctx: ConvertContext, kind: "max" | "avg"): Value {
  const x = ctx.input(0);
  const rank = x.type.shape.length;
  if (rank < 3) throw ctxError(ctx, `input must be [N, C, spatial…] of rank ≥ 3, got rank ${rank}`);
  if (kind === "avg") floatOnly(ctx, x);
  if (rank === 4) return ctx.op(kind === "max" ? "global_max_pool2d" : "global_avg_pool2d", [x]);
  return ctx.op(kind === "max" ? "max" : "mean", [x], { axes: Array.from({ length: rank - 2 }, (_, k) => k + 2), keepdims: true });
}

// ---- Normalizations ----

function batchNorm(ctx: ConvertContext): Value[] {
  const x = ctx.input(0);
  floatOnly(ctx, x);
  // Before opset 9, spatial = 0 meant statistics per (C, H, W) element rather than per channel.
  if (ctx.opset < 9 && ctx.attrs.int("spatial", 1) === 0) ctx.unsupported("spatial = 0 (per-element statistics)");
  if (ctx.opset < 14 && ctx.numOutputs > 1) ctx.unsupported("training outputs (mean, var, saved statistics) before opset 14");
  const epsilon = ctx.attrs.float("epsilon", 1e-5);
  if (ctx.attrs.int("training_mode", 0) === 0) return [ctx.op("batch_norm", [x, ctx.input(1), ctx.input(2), ctx.input(3), ctx.input(4)], { epsilon })];
  // Training mode: normalize with the batch's statistics; the running ones move toward them by (1 − momentum).
  const [y, mean, variance] = ctx.ops("batch_norm_train", [x, ctx.input(1), ctx.input(2)], { epsilon, axis: 1 }) as [Value, Value, Value];
  const m = ctx.attrs.float("momentum", 0.9), t = x.type.dtype;
  const blend = (running: Value, batch: Value) =>
    ctx.op("add", [ctx.op("mul", [running, ctx.scalar(m, t)]), ctx.op("mul", [batch, ctx.scalar(1 - m, t)])]);
  return [y, blend(ctx.input(3), mean), blend(ctx.input(4), variance)];
}

/** (x − mean)·rsqrt(var + ε) over `axes`, with the mean and the biased variance kept broadcastable. */
function standardize(ctx: ConvertContext, x: Value, axes: readonly number[], eps: number): { y: Value; mean: Value; rstd: Value } {
  const t = x.type.dtype;
  const mean = ctx.op("mean", [x], { axes: [...axes], keepdims: true });
  const d = ctx.op("sub", [x, mean]);
  const variance = ctx.op("mean", [ctx.op("mul", [d, d])], { axes: [...axes], keepdims: true });
  const rstd = ctx.op("rsqrt", [ctx.op("add", [variance, ctx.scalar(eps, t)])]);
  return { y: ctx.op("mul", [d, rstd]), mean, rstd };
}

function instanceNorm(ctx: ConvertContext): Value {
  const x = ctx.input(0);
  floatOnly(ctx, x);
  const rank = x.type.shape.length;
  if (rank < 3) throw ctxError(ctx, `input must be [N, C, spatial…] of rank ≥ 3, got rank ${rank}`);
  const { y } = standardize(ctx, x, Array.from({ length: rank - 2 }, (_, k) => k + 2), ctx.attrs.float("epsilon", 1e-5));
  const scaled = ctx.op("mul", [y, alongAxis(ctx, ctx.input(1), 1, rank)]);
  return ctx.op("add", [scaled, alongAxis(ctx, ctx.input(2), 1, rank)]);
}

function layerNorm(ctx: ConvertContext): (Value | undefined)[] {
  const x = ctx.input(0), scale = ctx.input(1);
  floatOnly(ctx, x);
  const rank = x.type.shape.length;
  const axis = normAxis(ctx, ctx.attrs.int("axis", -1), rank);
  const eps = ctx.attrs.float("epsilon", 1e-5);
  if (ctx.attrs.int("stash_type", 1) !== 1) ctx.unsupported(`stash_type ${ctx.attrs.int("stash_type")} (statistics are computed in the input's type)`);
  const normShape = x.type.shape.slice(axis);
  const exact = (v: Value) => v.type.shape.length === normShape.length && v.type.shape.every((d, k) => d === normShape[k]);
  const bias = ctx.optional(2);
  const wantStats = ctx.numOutputs > 1;
  if (exact(scale) && (!bias || exact(bias)) && !wantStats) {
    const b = bias ?? ctx.op("zeros_like", [scale]);
    return [ctx.op("layer_norm", [x, scale, b], { axis, epsilon: eps })];
  }
  // Scale or bias that only broadcast, or statistics requested: compose from reductions.
  const axes = Array.from({ length: rank - axis }, (_, k) => k + axis);
  const s = standardize(ctx, x, axes, eps);
  let y = ctx.op("mul", [s.y, scale]);
  if (bias) y = ctx.op("add", [y, bias]);
  return [y, s.mean, s.rstd];
}

function meanVarianceNorm(ctx: ConvertContext): Value {
  // (x − E[x]) / (√Var[x] + 1e-9), the ONNX function body's ε.
  const x = ctx.input(0), t = x.type.dtype;
  floatOnly(ctx, x);
  const rank = x.type.shape.length;
  const axes = ctx.attrs.ints("axes", [0, 2, 3]).map((a) => normAxis(ctx, a, rank, "axes entry"));
  const mean = ctx.op("mean", [x], { axes, keepdims: true });
  const d = ctx.op("sub", [x, mean]);
  const std = ctx.op("sqrt", [ctx.op("mean", [ctx.op("mul", [d, d])], { axes, keepdims: true })]);
  return ctx.op("div", [d, ctx.op("add", [std, ctx.scalar(1e-9, t)])]);
}

function lrn(ctx: ConvertContext): Value {
  // y = x / (bias + α/size · Σ_{window over channels} x²)^β, the window [c − ⌊(size−1)/2⌋, c + ⌈(size−1)/2⌉].
  const x = ctx.input(0), t = x.type.dtype;
  floatOnly(ctx, x);
  const rank = x.type.shape.length;
  if (rank < 3) throw ctxError(ctx, `input must be [N, C, …] of rank ≥ 3, got rank ${rank}`);
  const size = ctx.attrs.int("size");
  const alpha = ctx.attrs.float("alpha", 1e-4), beta = ctx.attrs.float("beta", 0.75), bias = ctx.attrs.float("bias", 1);
  const channels = staticShape(ctx, x, "input")[1]!;
  const lo = Math.floor((size - 1) / 2), hi = Math.ceil((size - 1) / 2);
  const pads = new Array<number>(2 * rank).fill(0);
  pads[1] = lo;
  pads[rank + 1] = hi;
  const sq = ctx.op("pad", [ctx.op("mul", [x, x])], { pads });
  let sum: Value | undefined;
  for (let k = 0; k < size; k++) {
    const win = ctx.op("slice", [sq], { starts: [k], ends: [k + channels], axes: [1] });
    sum = sum ? ctx.op("add", [sum, win]) : win;
  }
  const denom = ctx.op("pow", [ctx.op("add", [ctx.op("mul", [sum!, ctx.scalar(alpha / size, t)]), ctx.scalar(bias, t)]), ctx.scalar(beta, t)]);
  return ctx.op("div", [x, denom]);
}

// ---- Softmax family, Flatten ----

/** x reshaped to 2-D at `axis`: [∏ shape[:axis], ∏ shape[axis:]]. */
function flatten2d(ctx: ConvertContext, x: Value, axis: number): Value {
  const isStatic = (ds: readonly (number | string)[]) => ds.every((d) => typeof d === "number");
  const head = x.type.shape.slice(0, axis), tail = x.type.shape.slice(axis);
  // One symbolic side (e.g. the batch in [batch, C, H, W]) becomes the reshape's -1.
  if (!isStatic(head) && isStatic(tail)) return ctx.op("reshape", [x], { shape: [-1, product(tail as number[])] });
  if (isStatic(head) && !isStatic(tail)) return ctx.op("reshape", [x], { shape: [product(head as number[]), -1] });
  const shape = staticShape(ctx, x, "input");
  return ctx.op("reshape", [x], { shape: [product(shape.slice(0, axis)), product(shape.slice(axis))] });
}

/** Hardmax along one axis: one_hot of the first maximum. */
function hardmax(ctx: ConvertContext, x: Value, axis: number): Value {
  const depth = x.type.shape[axis]!;
  if (typeof depth !== "number") ctx.unsupported(`symbolic size of the Hardmax axis (${depth})`);
  const idx = ctx.op("argmax", [x], { axis, keepdims: false });
  const oh = ctx.op("one_hot", [idx], { depth, axis });
  return oh.type.dtype === x.type.dtype ? oh : ctx.op("cast", [oh], { dtype: x.type.dtype });
}

/**
 * Softmax, LogSoftmax, Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
 * (default 1) and normalized over the whole trailing block; from 13 over the single `axis` (default −1).
 */
function softmaxLike(ctx: ConvertContext, apply: (x: Value, axis: number) => Value): Value {
  const x = ctx.input(0);
  const rank = x.type.shape.length;
  if (ctx.opType !== "Hardmax") floatOnly(ctx, x);
  if (ctx.opset >= 13) return apply(x, normAxis(ctx, ctx.attrs.int("axis", -1), rank));
  const axis = rank === 0 ? 0 : normAxis(ctx, ctx.attrs.int("axis", 1), rank);
  if (axis === rank - 1) return apply(x, axis);
  const y = apply(flatten2d(ctx, x, axis), 1);
  return ctx.op("reshape", [y], { shape: staticShape(ctx, x, "input") });
}

function flatten(ctx: ConvertContext): Value {
  const x = ctx.input(0);
  const rank = x.type.shape.length;
  let axis = ctx.attrs.int("axis", 1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis > rank) throw ctxError(ctx, `axis ${ctx.attrs.int("axis")} is out of range for rank ${rank}`);
  return flatten2d(ctx, x, axis);
}

const table: Record<string, Converter> = {
  MatMul: (ctx) => [matmul(ctx, ctx.input(0), ctx.input(1))],
  Gemm: (ctx) => [gemm(ctx)],
  Conv: (ctx) => [conv(ctx)],
  ConvTranspose: (ctx) => [convTranspose(ctx)],
  MaxPool: (ctx) => pool(ctx, "max"),
  AveragePool: (ctx) => pool(ctx, "avg"),
  GlobalMaxPool: (ctx) => [globalPool(ctx, "max")],
  GlobalAveragePool: (ctx) => [globalPool(ctx, "avg")],
  BatchNormalization: batchNorm,
  InstanceNormalization: (ctx) => [instanceNorm(ctx)],
  LayerNormalization: layerNorm,
  MeanVarianceNormalization: (ctx) => [meanVarianceNorm(ctx)],
  LRN: (ctx) => [lrn(ctx)],
  Softmax: (ctx) => [softmaxLike(ctx, (x, axis) => ctx.op("softmax", [x], { axis }))],
  LogSoftmax: (ctx) => [softmaxLike(ctx, (x, axis) => ctx.op("log_softmax", [x], { axis }))],
  Hardmax: (ctx) => [softmaxLike(ctx, (x, axis) => hardmax(ctx, x, axis))],
  Flatten: (ctx) => [flatten(ctx)],
};

registerConverters(table);
