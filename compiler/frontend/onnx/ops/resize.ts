/**
 * Resize (opset 10–17) and Upsample (7–9) as separable interpolation: for every resized
 * axis the source positions and weights of each output index are computed at import time
 * (from static scales or sizes), and the axis becomes gathers with constant index
 * tensors, weighted and summed (one gather for nearest). Coordinates, neighbours (clamped
 * to the edge) and the cubic kernel follow ONNX's reference implementation.
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { alongAxis, constOf, ctxError, floatOnly, staticShape } from "./nn-common.ts";

type Mode = "nearest" | "linear" | "cubic";
type NearestMode = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";

interface ResizeSpec {
  readonly mode: Mode;
  readonly coordinates: string;
  readonly nearest: NearestMode;
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  /** tf_crop_and_resize: the region [starts…, ends…] (fractions of each axis) and the value outside it. */
  readonly roi?: readonly number[];
  readonly extrapolation?: number;
}

/** Source positions and weights of each output index along one axis: taps[t][o]; `outside[o]`: extrapolated. */
interface Taps {
  readonly index: number[][];
  readonly weight: number[][];
  readonly outside: boolean[];
}

/** The output index `o`'s coordinate in the input (ONNX's coordinate_transformation_mode). */
function sourceCoordinate(ctx: ConvertContext, mode: string, o: number, scale: number, inSize: number, roi: readonly [number, number]): number {
  // The reference's "output width" is scale · in, not the rounded output size.
  const outWidth = scale * inSize;
  switch (mode) {
    case "half_pixel": return (o + 0.5) / scale - 0.5;
    case "pytorch_half_pixel": return outWidth > 1 ? (o + 0.5) / scale - 0.5 : -0.5;
    case "align_corners": return outWidth === 1 ? 0 : (o * (inSize - 1)) / (outWidth - 1);
    case "asymmetric": return o / scale;
    case "tf_half_pixel_for_nn": return (o + 0.5) / scale;
    case "tf_crop_and_resize": {
      const [start, end] = roi;
      const span = outWidth > 1 ? (o * (end - start) * (inSize - 1)) / (outWidth - 1) : ((end - start) * (inSize - 1)) / 2;
      return span + start * (inSize - 1);
    }
    default: throw ctxError(ctx, `unknown coordinate_transformation_mode '${mode}'`);
  }
}

/** Keys's cubic convolution weights of the 4 neighbours (floor − 1 … floor + 2) at fraction r. */
function cubicWeights(r: number, A: number): number[] {
  const far = (d: number) => ((A * d - 5 * A) * d + 8 * A) * d - 4 * A; // 1 ≤ d < 2
  const near = (d: number) => ((A + 2) * d - (A + 3)) * d * d + 1; // 0 ≤ d < 1
  return [far(r + 1), near(r), near(1 - r), far(2 - r)];
}

function nearestOffset(mode: NearestMode, r: number): number {
  // 0 picks floor(x), 1 picks floor(x) + 1; an integral x is itself.
  if (r === 0) return 0;
  switch (mode) {
    case "round_prefer_floor": return r > 0.5 ? 1 : 0;
    case "round_prefer_ceil": return r >= 0.5 ? 1 : 0;
    case "floor": return 0;
    case "ceil": return 1;
  }
}

function axisTaps(ctx: ConvertContext, spec: ResizeSpec, axis: number, inSize: number, outSize: number, scale: number): Taps {
  const nTaps = spec.mode === "nearest" ? 1 : spec.mode === "linear" ? 2 : 4;
  const index = Array.from({ length: nTaps }, () => new Array<number>(outSize));
  const weight = Array.from({ length: nTaps }, () => new Array<number>(outSize));
  const outside = new Array<boolean>(outSize).fill(false);
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  const rank = (spec.roi?.length ?? 0) / 2;
  const roi: [number, number] = spec.roi ? [spec.roi[axis]!, spec.roi[rank + axis]!] : [0, 1];
  for (let o = 0; o < outSize; o++) {
    const x = sourceCoordinate(ctx, spec.coordinates, o, scale, inSize, roi);
    // TF's CropAndResize: a sample outside the input is the extrapolation value.
    if (spec.roi && (x < 0 || x > inSize - 1)) outside[o] = true;
    const base = Math.floor(x), r = x - base;
    if (spec.mode === "nearest") {
      index[0]![o] = clamp(base + nearestOffset(spec.nearest, r));
      weight[0]![o] = 1;
    } else if (spec.mode === "linear") {
      [index[0]![o], index[1]![o]] = [clamp(base), clamp(base + 1)];
      [weight[0]![o], weight[1]![o]] = [1 - r, r];
    } else {
      const w = cubicWeights(r, spec.cubicA);
      const at = [base - 1, base, base + 1, base + 2];
      if (spec.excludeOutside) {
        at.forEach((i, t) => { if (i < 0 || i >= inSize) w[t] = 0; });
        const s = w.reduce((a, b) => a + b, 0);
        for (let t = 0; t < 4; t++) w[t]! /= s;
      }
      for (let t = 0; t < 4; t++) [index[t]![o], weight[t]![o]] = [clamp(at[t]!), w[t]!];
    }
  }
  return { index, weight, outside };
}

const isIdentity = (t: Taps): boolean =>
  t.index.every((idx, k) => idx.every((i, o) => (t.weight[k]![o] === 0 ? true : i === o && t.weight[k]![o] === 1)));

/** Resizes x to `outShape` with per-axis `scales` (as the coordinate transform sees them). */
function resize(ctx: ConvertContext, x: Value, spec: ResizeSpec, outShape: readonly number[], scales: readonly number[]): Value {
  const inShape = staticShape(ctx, x, "input");
  const rank = inShape.length;
  if (spec.mode !== "nearest") floatOnly(ctx, x);
  let y = x;
  for (let a = 0; a < rank; a++) {
    if (outShape[a]! <= 0) throw ctxError(ctx, `output size ${outShape[a]} on axis ${a} (scale ${scales[a]})`);
    const taps = axisTaps(ctx, spec, a, inShape[a]!, outShape[a]!, scales[a]!);
    if (inShape[a] === outShape[a] && isIdentity(taps) && !taps.outside.some(Boolean)) continue;
    let acc: Value | undefined;
    taps.index.forEach((idx, t) => {
      const w = taps.weight[t]!;
      if (w.every((v) => v === 0)) return;
      const g = ctx.op("gather", [y, constOf(ctx, idx, [idx.length], "i64")], { axis: a });
      const term = spec.mode === "nearest" ? g : ctx.op("mul", [g, alongAxis(ctx, constOf(ctx, w, [w.length], x.type.dtype), a, rank)]);
      acc = acc ? ctx.op("add", [acc, term]) : term;
    });
    y = acc!;
    if (taps.outside.some(Boolean)) {
      const mask = alongAxis(ctx, constOf(ctx, taps.outside.map(Number), [outShape[a]!], "bool"), a, rank);
      y = ctx.op("where", [mask, ctx.scalar(spec.extrapolation ?? 0, y.type.dtype), y]);
    }
  }
  return y;
}

function modeOf(ctx: ConvertContext, def: string): Mode {
  const m = ctx.attrs.string("mode", def);
  if (m === "nearest" || m === "linear" || m === "cubic") return m;
  if (m === "bilinear") return "linear";
  throw ctxError(ctx, `unknown mode '${m}'`);
}

/** Output sizes and per-axis scales from a scales operand (floor(in · scale)). */
function fromScales(ctx: ConvertContext, inShape: readonly number[], scales: readonly number[]): { out: number[]; scales: number[] } {
  if (scales.length !== inShape.length) throw ctxError(ctx, `scales has ${scales.length} entries for an input of rank ${inShape.length}`);
  if (scales.some((s) => !(s > 0))) throw ctxError(ctx, `scales [${scales.join(", ")}] must be positive`);
  return { out: inShape.map((d, k) => Math.floor(d * scales[k]!)), scales: [...scales] };
}

function resizeOp(ctx: ConvertContext): Value {
  const x = ctx.input(0);
  const inShape = staticShape(ctx, x, "input");
  if (ctx.opset < 11) {
    // Resize-10: asymmetric coordinates, nearest takes the floor (as Upsample did).
    const spec: ResizeSpec = { mode: modeOf(ctx, "nearest"), coordinates: "asymmetric", nearest: "floor", cubicA: -0.75, excludeOutside: false };
    const s = fromScales(ctx, inShape, ctx.staticNumbers(1, "scales"));
    return resize(ctx, x, spec, s.out, s.scales);
  }
  const nearest = ctx.attrs.string("nearest_mode", "round_prefer_floor");
  if (!["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].includes(nearest)) throw ctxError(ctx, `unknown nearest_mode '${nearest}'`);
  const cropping = ctx.attrs.string("coordinate_transformation_mode", "half_pixel") === "tf_crop_and_resize";
  const roi = cropping ? (ctx.has(1) ? ctx.staticNumbers(1, "roi") : []) : undefined;
  if (roi && roi.length !== 2 * inShape.length) throw ctxError(ctx, `roi has ${roi.length} entries, expected ${2 * inShape.length} for tf_crop_and_resize`);
  const spec: ResizeSpec = {
    mode: modeOf(ctx, "nearest"),
    coordinates: ctx.attrs.string("coordinate_transformation_mode", "half_pixel"),
    nearest: nearest as NearestMode,
    cubicA: ctx.attrs.float("cubic_coeff_a", -0.75),
    excludeOutside: ctx.attrs.int("exclude_outside", 0) !== 0,
    roi,
    extrapolation: ctx.attrs.float("extrapolation_value", 0),
  };
  const scales = ctx.has(2) ? ctx.staticNumbers(2, "scales") : [];
  if (scales.length > 0) {
    const s = fromScales(ctx, inShape, scales);
    // A crop's output covers the region: floor(in · (end − start) · scale).
    const out = roi ? s.out.map((_, k) => Math.floor(inShape[k]! * (roi[inShape.length + k]! - roi[k]!) * scales[k]!)) : s.out;
    return resize(ctx, x, spec, out, s.scales);
  }
  if (!ctx.has(3)) throw ctxError(ctx, "one of scales and sizes is required");
  const sizes = ctx.staticNumbers(3, "sizes");
  if (sizes.length !== inShape.length) throw ctxError(ctx, `sizes has ${sizes.length} entries for an input of rank ${inShape.length}`);
  return resize(ctx, x, spec, sizes, sizes.map((o, k) => o / inShape[k]!));
}

function upsample(ctx: ConvertContext): Value {
  const x = ctx.input(0);
  const inShape = staticShape(ctx, x, "input");
  const spec: ResizeSpec = { mode: modeOf(ctx, "nearest"), coordinates: "asymmetric", nearest: "floor", cubicA: -0.75, excludeOutside: false };
  if (spec.mode === "cubic") throw ctxError(ctx, "Upsample has no cubic mode");
  const s = fromScales(ctx, inShape, ctx.opset < 9 ? ctx.attrs.floats("scales") : ctx.staticNumbers(1, "scales"));
  return resize(ctx, x, spec, s.out, s.scales);
}

const table: Record<string, Converter> = {
  Resize: (ctx) => [resizeOp(ctx)],
  Upsample: (ctx) => [upsample(ctx)],
};
registerConverters(table);
