/**
 * A convolution layer as the accelerator lowering sees it: NCHW int8 data, OIHW int8
 * weights, stride and zero padding, followed by requantization (rounding shift, clip,
 * optional ReLU). A dense layer x[M, K]·w[O, K]ᵀ is the 1×1 convolution with N = M and
 * H = W = 1, so one lowering serves both.
 */
import { LatheError } from "../../../core/errors.ts";

export interface ConvLayer {
  readonly name: string;
  readonly n: number; readonly c: number; readonly h: number; readonly w: number;
  readonly o: number; readonly kh: number; readonly kw: number;
  readonly strideH: number; readonly strideW: number;
  /** top, left, bottom, right */
  readonly pads: readonly [number, number, number, number];
  /** Requantization: rounding shift right, then clip to int8 (to [0, 127] with relu). */
  readonly shift: number;
  readonly relu: boolean;
}

export const outH = (l: ConvLayer): number => Math.floor((l.h + l.pads[0] + l.pads[2] - l.kh) / l.strideH) + 1;
export const outW = (l: ConvLayer): number => Math.floor((l.w + l.pads[1] + l.pads[3] - l.kw) / l.strideW) + 1;

export function convLayer(a: Partial<ConvLayer> & Pick<ConvLayer, "n" | "c" | "h" | "w" | "o" | "kh" | "kw">): ConvLayer {
  const l: ConvLayer = { name: "conv", strideH: 1, strideW: 1, pads: [0, 0, 0, 0], shift: 0, relu: false, ...a };
  const bad = (msg: string) => new LatheError(`layer ${l.name}: ${msg}`);
  for (const k of ["n", "c", "h", "w", "o", "kh", "kw", "strideH", "strideW"] as const) {
    if (!Number.isInteger(l[k]) || l[k] < 1) throw bad(`${k} must be a positive integer, got ${l[k]}`);
  }
  if (l.pads.some((p) => !Number.isInteger(p) || p < 0 || p > 15)) throw bad(`pads must be integers in [0, 15] (4-bit LOAD padding), got [${l.pads.join(", ")}]`);
  if (outH(l) < 1 || outW(l) < 1) throw bad(`the ${l.kh}×${l.kw} window does not fit the padded ${l.h}×${l.w} input`);
  return l;
}

/** A dense layer as a 1×1 convolution over M "batch" rows. */
export const denseLayer = (name: string, m: number, k: number, o: number, shift: number, relu: boolean): ConvLayer =>
  convLayer({ name, n: m, c: k, h: 1, w: 1, o, kh: 1, kw: 1, shift, relu });

/** Multiply-accumulates of the layer (int8 × int8). */
export const macs = (l: ConvLayer): number => l.n * l.o * outH(l) * outW(l) * l.c * l.kh * l.kw;
