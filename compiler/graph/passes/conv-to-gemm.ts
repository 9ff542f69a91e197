/**
 * conv-to-gemm: the cpu target's lowering of 2-D convolutions to matrix products
 * (im2col), so they run on the register-tiled GEMM schedule instead of a direct loop nest:
 *
 *   conv2d(x [N, C, H, W], w [O, C/g, kh, kw])
 *     = reshape/transpose( w' [g, O/g, (C/g)·kh·kw] × im2col(pad(x)) [g, (C/g)·kh·kw, N·OH·OW] )
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

function lowerConv(e: Emitter, n: Node): boolean {
  const [x, w] = n.inputs as [Value, Value];
  const out = n.outputs[0]!;
  const xs = staticDims(x), ws = staticDims(w), os = staticDims(out);
  if (!xs || !ws || !os || xs.length !== 4) return false;
  const groups = n.attrs["groups"] as number;
  const N = xs[0]!;
  const [O, Cg, kh, kw] = ws as [number, number, number, number];
  const [, , OH, OW] = os as [number, number, number, number];
  if (Cg === 1 && groups > 1) return false; // depthwise
  const [pt, pl, pb, pr] = ints(n, "pads") as [number, number, number, number];
  const name = n.name;
  const padded = pt || pl || pb || pr ? e.op("pad", [x], { pads: [0, 0, pt, pl, 0, 0, pb, pr] }, `${name}_pad`) : x;
  const K = Cg * kh * kw, P = N * OH * OW;
  const col = e.op("im2col", [padded], { kernel: [kh, kw], strides: ints(n, "strides"), dilations: ints(n, "dilations") }, `${name}_im2col`);
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
  return true;
}

export function convToGemm(g: Graph): Graph {
  const e = new Emitter(g);
  let rewrote = false;
  for (const n of g.nodes) {
    if (n.op === "conv2d" && n.outputs.length === 1 && lowerConv(e, n)) rewrote = true;
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

