/**
 * Data layouts and the blocked convolution (TVM's NCHW[x]c).
 *
 * A layout string names each axis of a tensor: an upper-case letter is a primal axis
 * ("NCHW"), a number and a lower-case letter is a block of the primal axis with that
 * letter ("8c": 8 consecutive channels), so "NCHW8c" is [N, C/8, H, W, 8] and a conv
 * weight "OIHW8i8o" is [O/8, I/8, H, W, 8, 8]. Two layouts over the same primal axes hold
 * the same logical tensor, so a transform between them is a permutation of elements.
 *
 * - `layout_transform{src, dst}(x)`: x read in layout src, written in layout dst.
 *   Injective; its VJP is the inverse transform (a permutation's adjoint is its inverse).
 * - `conv2d_nchwc{strides, pads, dilations, groups=1, block_in, block_out}(x, w)`:
 *   x [N, C/bi, H, W, bi], w [K/bo, C/bi, R, S, bi, bo] → [N, K/bo, OH, OW, bo], the same
 *   numbers as conv2d in NCHW/OIHW up to the layouts. Its VJP transforms x, w and the
 *   cotangent back to NCHW/OIHW, applies conv2d's own gradient ops (conv_transpose2d,
 *   conv2d_grad_weight) and transforms the results to the blocked layouts: training graphs
 *   are not laid out blocked, so a dedicated blocked gradient kernel would buy nothing.
 */
import type { Attrs } from "../../graph/graph.ts";
import type { Dim, TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, floordiv, floormod, int, mul } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { AttrSpec } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, expectArity, expectFloat, expectRank, expectSameDtype, numAttr, outShape, padSpatial, shapeError, times, windowOut } from "./common.ts";
import type { ConvParams } from "./conv-params.ts";
import { convAttrSchema, convAttrs, convParams, outputPaddingFor, span, staticKernel } from "./conv-params.ts";

// ---- layout strings ----

/** One axis of a layout: a primal axis (factor null) or a block of `factor` elements of one. */
export interface LayoutAxis {
  /** The primal axis's upper-case letter. */
  readonly primal: string;
  readonly factor: number | null;
}

export interface Layout {
  readonly name: string;
  readonly axes: readonly LayoutAxis[];
  /** Each primal letter's block factor (absent: not blocked). */
  readonly factors: ReadonlyMap<string, number>;
}

/** Parses a layout string ("NCHW", "NCHW8c", "OIHW8i8o"); errors name the node and op. */
export function parseLayout(s: string, node: string, op: string): Layout {
  const axes: LayoutAxis[] = [];
  const factors = new Map<string, number>();
  const re = /(\d+)([a-z])|([A-Z])/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s)) !== null) {
    end = re.lastIndex;
    if (m[3] !== undefined) {
      if (axes.some((a) => a.factor === null && a.primal === m![3])) throw attrError(node, op, `layout "${s}" repeats axis ${m[3]}`);
      axes.push({ primal: m[3], factor: null });
    } else {
      const primal = m[2]!.toUpperCase(), factor = Number(m[1]);
      if (factor < 1) throw attrError(node, op, `layout "${s}": block ${m[1]}${m[2]} must be ≥ 1`);
      if (factors.has(primal)) throw attrError(node, op, `layout "${s}" blocks axis ${primal} twice`);
      factors.set(primal, factor);
      axes.push({ primal, factor });
    }
  }
  if (s.length === 0 || end !== s.length) throw attrError(node, op, `layout "${s}" is not a layout (upper-case axes and blocks such as 8c, e.g. "NCHW8c")`);
  for (const p of factors.keys()) {
    if (!axes.some((a) => a.factor === null && a.primal === p)) throw attrError(node, op, `layout "${s}" blocks axis ${p.toLowerCase()} but has no axis ${p}`);
  }
  return { name: s, axes, factors };
}

const primals = (l: Layout): string[] => l.axes.filter((a) => a.factor === null).map((a) => a.primal).sort();

/** The NCHW[x]c data layout for a channel block (block 1 is not blocked). */
export const blockedDataLayout = (block: number): string => `NCHW${block}c`;
/** The blocked conv weight layout for conv2d_nchwc: [K/bo, C/bi, R, S, bi, bo]. */
export const blockedWeightLayout = (blockIn: number, blockOut: number): string => `OIHW${blockIn}i${blockOut}o`;

// ---- layout_transform ----

/** The output shape of x (in src) written in dst; a blocked axis must be static and divisible. */
function transformShape(src: Layout, dst: Layout, x: TensorType, node: string): Dim[] {
  const op = "layout_transform";
  const inputs = [x];
  if (x.shape.length !== src.axes.length) throw shapeError(node, op, `x has rank ${x.shape.length}, but layout ${src.name} has ${src.axes.length} axes`, inputs);
  const outer = new Map<string, Dim>();
  src.axes.forEach((a, k) => {
    const d = x.shape[k]!;
    if (a.factor === null) outer.set(a.primal, d);
    else if (d !== a.factor) throw shapeError(node, op, `axis ${k} (${a.factor}${a.primal.toLowerCase()} of ${src.name}) must be ${a.factor}, got ${d}`, inputs);
  });
  return dst.axes.map((a) => {
    if (a.factor !== null) return a.factor;
    const fs = src.factors.get(a.primal) ?? 1, fd = dst.factors.get(a.primal) ?? 1;
    const d = outer.get(a.primal)!;
    if (fs === fd) return d; // the same blocking: the outer axis passes through, symbolic or not
    if (typeof d !== "number") throw shapeError(node, op, `axis ${a.primal} (${d}) must be static to change its block from ${fs} to ${fd} (${src.name} → ${dst.name})`, inputs);
    const full = d * fs;
    if (full % fd !== 0) throw shapeError(node, op, `${a.primal} (${full}) is not divisible by the block ${fd} (${src.name} → ${dst.name})`, inputs);
    return full / fd;
  });
}

const layoutAttrs: Record<string, AttrSpec> = { src: { kind: "string" }, dst: { kind: "string" } };

function layoutsOf(a: Attrs, node: string): [Layout, Layout] {
  const op = "layout_transform";
  const src = parseLayout(String(a["src"]), node, op), dst = parseLayout(String(a["dst"]), node, op);
  if (primals(src).join() !== primals(dst).join()) throw attrError(node, op, `layouts ${src.name} and ${dst.name} do not have the same axes`);
  return [src, dst];
}

export const layoutTransform = defineOp({
  name: "layout_transform",
  fusion: "injective",
  attrs: layoutAttrs,
  infer: (inputs, a, node) => {
    expectArity(node, "layout_transform", inputs, 1);
    const [src, dst] = layoutsOf(a, node);
    return [{ shape: transformShape(src, dst, inputs[0]!, node), dtype: inputs[0]!.dtype }];
  },
  // out[dst index] = x[src index] for the same logical coordinates: each primal axis's logical
  // coordinate is outer·block + inner in dst, split again by src's block.
  compute: ([x], a, ctx) => {
    const [src, dst] = layoutsOf(a, ctx.name);
    return [compute(outShape(ctx), (...ix) => {
      const outerAt = new Map<string, Expr>(), innerAt = new Map<string, Expr>();
      dst.axes.forEach((ax, k) => (ax.factor === null ? outerAt : innerAt).set(ax.primal, ix[k]!));
      const srcIndex = src.axes.map((ax) => {
        const fs = src.factors.get(ax.primal), fd = dst.factors.get(ax.primal);
        // The same blocking on both sides: the axis maps straight across.
        if (fs === fd) return (ax.factor === null ? outerAt : innerAt).get(ax.primal)!;
        const o = outerAt.get(ax.primal)!;
        const logical = fd === undefined || fd === 1 ? o : add(mul(o, fd), innerAt.get(ax.primal)!);
        const f = fs ?? 1;
        if (ax.factor !== null) return f === 1 ? int(0) : floormod(logical, f);
        return f === 1 ? logical : floordiv(logical, f);
      });
      return x!.at(...srcIndex);
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    if (!g) return [null];
    return [b.op1("layout_transform", [g], { src: node.attrs["dst"]!, dst: node.attrs["src"]! })];
  },
});

// ---- conv2d_nchwc ----

const OP = "conv2d_nchwc";

const nchwcAttrs: Record<string, AttrSpec> = { ...convAttrSchema(2, "none"), block_in: { kind: "int" }, block_out: { kind: "int" } };

function nchwcParams(a: Attrs, node: string): { p: ConvParams; bi: number; bo: number } {
  const p = convParams(2, a, node, OP);
  if (p.groups !== 1) throw attrError(node, OP, `only groups = 1 is blocked, got groups ${p.groups}`);
  const bi = numAttr(a, "block_in"), bo = numAttr(a, "block_out");
  if (bi < 1 || bo < 1) throw attrError(node, OP, `block_in and block_out must be ≥ 1, got ${bi} and ${bo}`);
  return { p, bi, bo };
}

export const conv2dNchwc = defineOp({
  name: OP,
  fusion: "outEWiseFusable",
  attrs: nchwcAttrs,
  infer: (inputs, a, node) => {
    const { p, bi, bo } = nchwcParams(a, node);
    expectArity(node, OP, inputs, 2);
    expectRank(node, OP, inputs, 0, 5, "x [N, C/bi, H, W, bi]");
    expectRank(node, OP, inputs, 1, 6, "w [K/bo, C/bi, R, S, bi, bo]");
    expectFloat(node, OP, inputs, [0, 1]);
    expectSameDtype(node, OP, inputs, [0, 1]);
    const [x, w] = inputs as [TensorType, TensorType];
    if (x.shape[4] !== bi) throw shapeError(node, OP, `x's inner block is ${x.shape[4]}, block_in is ${bi}`, inputs);
    if (w.shape[4] !== bi || w.shape[5] !== bo) throw shapeError(node, OP, `w's blocks are ${w.shape[4]}×${w.shape[5]}, block_in × block_out is ${bi}×${bo}`, inputs);
    if (!sameDim(x.shape[1]!, w.shape[1]!)) throw shapeError(node, OP, `x has ${x.shape[1]} channel blocks, w expects ${w.shape[1]}`, inputs);
    const kernel = staticKernel(w.shape.slice(2, 4), inputs, node, OP);
    const spatial = [0, 1].map((k) => windowOut(node, OP, inputs, x.shape[2 + k]!, p.before[k]! + p.after[k]!, span(p, kernel[k]!, k), p.strides[k]!));
    return [{ shape: [x.shape[0]!, w.shape[0]!, ...spatial, bo], dtype: x.dtype }];
  },
  // out[n, ko, oh, ow, ki] = Σ_{co, r, s, ci} pad(x)[n, co, oh·sh + r·dh, ow·sw + s·dw, ci] · w[ko, co, r, s, ci, ki]:
  // the inner output block ki is the contiguous (vectorizable) axis.
  compute: ([x, w], a, ctx) => {
    const { p } = nchwcParams(a, ctx.name);
    // Pads H and W; the trailing block axis gets no padding.
    const P = padSpatial(x!, [...p.before, 0], [...p.after, 0], 0, `${ctx.name}.pad`);
    const rco = reduceAxis(w!.shape[1]!, "rco"), rr = reduceAxis(w!.shape[2]!, "rr"), rs = reduceAxis(w!.shape[3]!, "rs"), rci = reduceAxis(w!.shape[4]!, "rci");
    return [compute(outShape(ctx), (n, ko, oh, ow, ki) => {
      const h = add(times(oh!, p.strides[0]!), times(rr.var, p.dilations[0]!));
      const v = add(times(ow!, p.strides[1]!), times(rs.var, p.dilations[1]!));
      return sum([rco, rr, rs, rci], mul(P.at(n!, rco.var, h, v, rci.var), w!.at(ko!, rco.var, rr.var, rs.var, rci.var, ki!)));
    }, ctx.name)];
  },
  vjp: ({ node, b }, [g]) => {
    if (!g) return [null, null];
    const { p, bi, bo } = nchwcParams(node.attrs, node.name);
    const [x, w] = node.inputs as [typeof g, typeof g];
    const lt = (v: typeof g, src: string, dst: string) => b.op1("layout_transform", [v], { src, dst });
    const dataIn = blockedDataLayout(bi), dataOut = blockedDataLayout(bo), weight = blockedWeightLayout(bi, bo);
    const xn = lt(x, dataIn, "NCHW"), wn = lt(w, weight, "OIHW"), gn = lt(g, dataOut, "NCHW");
    const kernel = w.type.shape.slice(2, 4) as number[];
    const outputPadding = outputPaddingFor(p, xn.type.shape.slice(2), gn.type.shape.slice(2), kernel);
    const dx = b.op1("conv_transpose2d", [gn, wn], convAttrs(p, { output_padding: outputPadding }));
    const dw = b.op1("conv2d_grad_weight", [xn, gn], convAttrs(p, { kernel }));
    return [lt(dx, "NCHW", dataIn), lt(dw, "OIHW", weight)];
  },
});
