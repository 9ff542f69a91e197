/**
 * conv-to-gemm: the cpu target's lowering of 2-D convolutions to matrix products
 * (im2col), so they run on the register-tiled GEMM schedule instead of a direct loop nest:
 *
 *   conv2d(x [N, C, H, W], w [O, C/g, kh, kw])
 *     = reshape/transpose( w' [g, O/g, (C/g)·kh·kw] × im2col(pad(x)) [g, (C/g)·kh·kw, N·OH·OW] )
 *
 * A weight gradient (training graphs) is the same product the other way round, reducing
 * over the output positions:
 *
 *   conv2d_grad_weight(x, dy) = reshape(transpose( im2col(pad(x)) [C·kh·kw, N·OH·OW] × dy' [N·OH·OW, O] ))
 *
 * (groups = 1), with dy' = dy as [N, OH, OW, O]. As a direct loop nest it is a scalar
 * reduction over N·OH·OW per weight (1–2 GFLOP/s here); as a GEMM the long reduction runs
 * on the vector register tiles. The patches are those of the forward convolution of the
 * same x (one im2col per (x, window) in the pass), so a training step computes them once.
 * The transposes are of dy (N·OH·OW × O, smaller than the patches' N·OH·OW × C·kh·kw
 * whenever C·kh·kw > O, as in most layers) and of the small [C·kh·kw, O] product.
 *
 * A stride-1 transposed convolution (a conv2d's input gradient) becomes a conv2d with the
 * kernel flipped and its channel axes swapped, and then the same GEMM (lowerConvTranspose).
 *
 * Depthwise convolutions (one input channel per group) stay direct: their patches are
 * tiny and im2col would only copy them. Shapes must be static. The weight reshape is folded
 * when the weight is a constant.
 */
import type { Graph, Node, Value } from "../graph.ts";
import { Emitter } from "./emitter.ts";
import { foldConstants } from "./fold-constants.ts";

const staticDims = (v: Value): number[] | null =>
  v.type.shape.every((d) => typeof d === "number") ? (v.type.shape as number[]) : null;

const ints = (n: Node, key: string): number[] => n.attrs[key] as number[];

/** A 2-D convolution window: the pads (top, left, bottom, right), strides and dilations. */
interface Window { readonly kh: number; readonly kw: number; readonly pads: readonly number[]; readonly strides: readonly number[]; readonly dilations: readonly number[] }

const windowOf = (n: Node, kh: number, kw: number): Window => ({ kh, kw, pads: ints(n, "pads"), strides: ints(n, "strides"), dilations: ints(n, "dilations") });

/** The im2col values already emitted, by input and window (a forward conv and its weight gradient share one). */
type PatchCache = Map<Value, Map<string, Value>>;

/** im2col(pad(x)) for a window: [C·kh·kw, N·OH·OW]. */
function patches(e: Emitter, cache: PatchCache, name: string, x: Value, w: Window): Value {
  const key = JSON.stringify([w.kh, w.kw, w.pads, w.strides, w.dilations]);
  const known = cache.get(x)?.get(key);
  if (known) return known;
  const [pt, pl, pb, pr] = w.pads as [number, number, number, number];
  const padded = pt || pl || pb || pr ? e.op("pad", [x], { pads: [0, 0, pt, pl, 0, 0, pb, pr] }, `${name}_pad`) : x;
  const col = e.op("im2col", [padded], { kernel: [w.kh, w.kw], strides: w.strides, dilations: w.dilations }, `${name}_im2col`);
  if (!cache.has(x)) cache.set(x, new Map());
  cache.get(x)!.set(key, col);
  return col;
}

/**
 * conv2d(x, w) as w [O, C/g·kh·kw] (or [g, O/g, C/g·kh·kw]) × im2col, written to `out`
 * ([N, O, OH, OW]) under the node name `name`.
 */
function gemmConv(e: Emitter, cache: PatchCache, name: string, x: Value, w: Value, win: Window, groups: number, out: Value): void {
  const [N, O, OH, OW] = out.type.shape as [number, number, number, number];
  const K = (w.type.shape[1] as number) * win.kh * win.kw, P = N * OH * OW;
  const col = patches(e, cache, name, x, win);
  let prod: Value;
  if (groups === 1) {
    const wm = e.op("reshape", [w], { shape: [O, K] }, `${name}_wmat`);
    prod = e.op("matmul", [wm, col], {}, `${name}_gemm`);
  } else {
    const wm = e.op("reshape", [w], { shape: [groups, O / groups, K] }, `${name}_wmat`);
    const cm = e.op("reshape", [col], { shape: [groups, K, P] }, `${name}_colg`);
    prod = e.op("reshape", [e.op("batch_matmul", [wm, cm], {}, `${name}_gemm`)], { shape: [O, P] }, `${name}_gemm_flat`);
  }
  // [O, N·OH·OW] → [N, O, OH, OW]; with N = 1 that is a reshape.
  const reuse = { value: out, node: name };
  if (N === 1) e.op("reshape", [prod], { shape: [1, O, OH, OW] }, name, reuse);
  else e.op("transpose", [e.op("reshape", [prod], { shape: [O, N, OH, OW] }, `${name}_split`)], { perm: [1, 0, 2, 3] }, name, reuse);
}

function lowerConv(e: Emitter, cache: PatchCache, n: Node): boolean {
  const [x, w] = n.inputs as [Value, Value];
  const xs = staticDims(x), ws = staticDims(w), os = staticDims(n.outputs[0]!);
  if (!xs || !ws || !os || xs.length !== 4) return false;
  const groups = n.attrs["groups"] as number;
  const [, Cg, kh, kw] = ws as [number, number, number, number];
  if (Cg === 1 && groups > 1) return false; // depthwise
  gemmConv(e, cache, n.name, x, w, windowOf(n, kh, kw), groups, n.outputs[0]!);
  return true;
}

function lowerGradWeight(e: Emitter, cache: PatchCache, n: Node): boolean {
  const [x, dy] = n.inputs as [Value, Value];
  const out = n.outputs[0]!;
  const xs = staticDims(x), ds = staticDims(dy), os = staticDims(out);
  if (!xs || !ds || !os || xs.length !== 4 || n.attrs["groups"] !== 1) return false;
  const [N, O, OH, OW] = ds as [number, number, number, number];
  const [, C, kh, kw] = os as [number, number, number, number];
  const name = n.name, P = N * OH * OW;
  const col = patches(e, cache, name, x, windowOf(n, kh, kw));
  const dyMat = e.op("reshape", [e.op("transpose", [dy], { perm: [0, 2, 3, 1] }, `${name}_dy_t`)], { shape: [P, O] }, `${name}_dy_mat`);
  const prod = e.op("matmul", [col, dyMat], {}, `${name}_gemm`);
  const byChannel = e.op("transpose", [prod], { perm: [1, 0] }, `${name}_gemm_t`);
  e.op("reshape", [byChannel], { shape: [O, C, kh, kw] }, name, { value: out, node: name });
  return true;
}

/**
 * A stride-1 transposed convolution (a conv2d's input gradient) is a convolution of dy with
 * the kernel flipped in space and its channel axes swapped, padded by dilation·(k − 1) − pad:
 * conv_transpose2d(dy, w [O, C, kh, kw]) = conv2d(dy, w' [C, O, kh, kw]),
 * w'[c, o, i, j] = w[o, c, kh − 1 − i, kw − 1 − j].
 */
function lowerConvTranspose(e: Emitter, cache: PatchCache, n: Node): boolean {
  const [dy, w] = n.inputs as [Value, Value];
  const ds = staticDims(dy), ws = staticDims(w), os = staticDims(n.outputs[0]!);
  if (!ds || !ws || !os || ds.length !== 4 || n.attrs["groups"] !== 1) return false;
  const strides = ints(n, "strides"), dilations = ints(n, "dilations"), pads = ints(n, "pads"), outPad = ints(n, "output_padding");
  if (strides.some((s) => s !== 1) || outPad.some((p) => p !== 0)) return false;
  const [, , kh, kw] = ws as [number, number, number, number];
  const [dh, dw] = dilations as [number, number];
  const flipped = [dh * (kh - 1) - pads[0]!, dw * (kw - 1) - pads[1]!, dh * (kh - 1) - pads[2]!, dw * (kw - 1) - pads[3]!];
  if (flipped.some((p) => p < 0)) return false;
  const name = n.name;
  const rot = e.op("slice", [w], { starts: [kh - 1, kw - 1], ends: [-kh - 1, -kw - 1], axes: [2, 3], steps: [-1, -1] }, `${name}_wflip`);
  const wT = e.op("transpose", [rot], { perm: [1, 0, 2, 3] }, `${name}_wt`);
  gemmConv(e, cache, name, dy, wT, { kh, kw, pads: flipped, strides, dilations }, 1, n.outputs[0]!);
  return true;
}

export function convToGemm(g: Graph): Graph {
  const e = new Emitter(g);
  const cache: PatchCache = new Map();
  let rewrote = false;
  for (const n of g.nodes) {
    if (n.op === "conv2d" && n.outputs.length === 1 && lowerConv(e, cache, n)) rewrote = true;
    else if (n.op === "conv2d_grad_weight" && n.outputs.length === 1 && lowerGradWeight(e, cache, n)) rewrote = true;
    else if (n.op === "conv_transpose2d" && n.outputs.length === 1 && lowerConvTranspose(e, cache, n)) rewrote = true;
    else e.keep(n);
  }
  if (!rewrote) return g;
  // Fold the weight reshapes (constants only): permutations of constant data.
  const added = e.nodes.filter((n) => e.created.has(n));
  const folded = foldConstants({ inputs: [], constants: e.constants, nodes: added, outputs: [] }, { maxElements: Infinity });
  const kept = new Set(folded.nodes);
  const nodes = e.nodes.filter((n) => !e.created.has(n) || kept.has(n));
  const read = new Set<Value>(g.outputs);
  for (const n of nodes) n.inputs.forEach((v) => read.add(v));
  return { inputs: g.inputs, constants: folded.constants.filter((c) => read.has(c.value)), nodes, outputs: g.outputs };
}

