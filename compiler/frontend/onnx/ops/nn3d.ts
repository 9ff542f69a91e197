/**
 * 3-D convolution and pooling, which Lathe has no op for, decomposed into 2-D ones over
 * the depth taps (static shapes only):
 *   conv3d: depth folded into the batch, one conv2d per depth tap of the kernel with that
 *     tap's [O, C/g, kh, kw] weights, then each tap's strided depth slice, summed;
 *   pool3d: depth folded into the channels, one 2-D pool, then the max (or the sum divided
 *     by the count of real cells) over each window's depth taps — both are separable.
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext } from "../convert.ts";
import { tensorOf } from "../convert.ts";
import { autoPads, ctxError, floatOnly, staticShape } from "./nn-common.ts";

interface Geometry3d { kernel: number[]; strides: number[]; dilations: number[]; pads: number[]; out: number[] }

function geometry(ctx: ConvertContext, spatial: readonly number[], kernel: readonly number[]): Geometry3d {
  const strides = ctx.attrs.ints("strides", [1, 1, 1]), dilations = ctx.attrs.ints("dilations", [1, 1, 1]);
  if (kernel.length !== 3 || strides.length !== 3 || dilations.length !== 3) throw ctxError(ctx, "3-D kernel_shape, strides and dilations need 3 entries each");
  if (ctx.attrs.int("ceil_mode", 0) !== 0) ctx.unsupported("3-D pooling with ceil_mode");
  const pads = autoPads(ctx, spatial, kernel, strides, dilations);
  const out = spatial.map((s, k) => Math.floor((s + pads[k]! + pads[k + 3]! - ((kernel[k]! - 1) * dilations[k]! + 1)) / strides[k]!) + 1);
  if (out.some((o) => o < 1)) throw ctxError(ctx, `the kernel does not fit the padded input ([${spatial.join(", ")}])`);
  return { kernel: [...kernel], strides, dilations, pads, out };
}

/** Depth tap t of a [N, X, Dp, …] tensor at the output depths: a strided slice of axis 2. */
const depthTap = (ctx: ConvertContext, v: Value, g: Geometry3d, t: number): Value => {
  const start = t * g.dilations[0]!;
  return ctx.op("slice", [v], { starts: [start], ends: [start + (g.out[0]! - 1) * g.strides[0]! + 1], axes: [2], steps: [g.strides[0]!] });
};

const padDepth = (ctx: ConvertContext, x: Value, g: Geometry3d, value: number): Value =>
  g.pads[0] || g.pads[3] ? ctx.op("pad", [x], { pads: [0, 0, g.pads[0]!, 0, 0, 0, 0, g.pads[3]!, 0, 0], value }) : x;

export function conv3d(ctx: ConvertContext, x: Value, w: Value): Value {
  floatOnly(ctx, x);
  const [n, c, d, h, wd] = staticShape(ctx, x, "input") as [number, number, number, number, number];
  const [o, cg, kd, kh, kw] = staticShape(ctx, w, "weights") as [number, number, number, number, number];
  const g = geometry(ctx, [d, h, wd], ctx.attrs.ints("kernel_shape", [kd, kh, kw]));
  const dp = d + g.pads[0]! + g.pads[3]!;
  // [N, C, Dp, H, W] → [N·Dp, C, H, W]
  const folded = ctx.op("reshape", [ctx.op("transpose", [padDepth(ctx, x, g, 0)], { perm: [0, 2, 1, 3, 4] })], { shape: [n * dp, c, h, wd] });
  let acc: Value | undefined;
  for (let t = 0; t < kd; t++) {
    const wt = ctx.op("reshape", [ctx.op("slice", [w], { starts: [t], ends: [t + 1], axes: [2] })], { shape: [o, cg, kh, kw] });
    const y2 = ctx.op("conv2d", [folded, wt], {
      strides: g.strides.slice(1), dilations: g.dilations.slice(1), groups: ctx.attrs.int("group", 1),
      pads: [g.pads[1]!, g.pads[2]!, g.pads[4]!, g.pads[5]!],
    });
    // [N·Dp, O, OH, OW] → [N, O, Dp, OH, OW], then this tap's output depths.
    const y5 = ctx.op("transpose", [ctx.op("reshape", [y2], { shape: [n, dp, o, g.out[1]!, g.out[2]!] })], { perm: [0, 2, 1, 3, 4] });
    const tap = depthTap(ctx, y5, g, t);
    acc = acc ? ctx.op("add", [acc, tap]) : tap;
  }
  return acc!;
}

export function pool3d(ctx: ConvertContext, x: Value, kind: "max" | "avg"): Value {
  floatOnly(ctx, x);
  const [n, c, d, h, w] = staticShape(ctx, x, "input") as [number, number, number, number, number];
  const g = geometry(ctx, [d, h, w], ctx.attrs.ints("kernel_shape"));
  if (g.dilations.some((v) => v !== 1)) ctx.unsupported("3-D pooling with dilations");
  const includePad = kind === "avg" && ctx.attrs.int("count_include_pad", 0) !== 0;
  const hwPads = [g.pads[1]!, g.pads[2]!, g.pads[4]!, g.pads[5]!];
  if (hwPads.some((p, k) => p >= g.kernel[1 + (k % 2)]!)) ctx.unsupported(`pads [${g.pads.join(", ")}] as large as the kernel`);
  const dp = d + g.pads[0]! + g.pads[3]!;
  const xp = padDepth(ctx, x, g, kind === "max" ? -Infinity : 0);
  const y2 = ctx.op(kind === "max" ? "max_pool2d" : "avg_pool2d", [ctx.op("reshape", [xp], { shape: [n, c * dp, h, w] })], {
    kernel: g.kernel.slice(1), strides: g.strides.slice(1), pads: hwPads, ...(kind === "avg" ? { count_include_pad: includePad } : {}),
  });
  const y5 = ctx.op("reshape", [y2], { shape: [n, c, dp, g.out[1]!, g.out[2]!] });
  let acc: Value | undefined;
  for (let t = 0; t < g.kernel[0]!; t++) {
    const tap = depthTap(ctx, y5, g, t);
    acc = acc ? ctx.op(kind === "max" ? "maximum" : "add", [acc, tap]) : tap;
  }
  if (kind === "max") return acc!;
  // Average: divide by the window's depth count (real cells only, unless padding counts).
  const counts = Array.from({ length: g.out[0]! }, (_, od) => {
    if (includePad) return g.kernel[0]!;
    const start = od * g.strides[0]! - g.pads[0]!;
    let k = 0;
    for (let t = 0; t < g.kernel[0]!; t++) if (start + t >= 0 && start + t < d) k++;
    return k;
  });
  const t = x.type.dtype;
  return ctx.op("div", [acc!, ctx.constant(tensorOf(counts, [1, 1, g.out[0]!, 1, 1], t))]);
}
