/**
 * The depthwise convolution in the blocked NCHW[x]c layout (TVM's depthwise_conv2d_NCHWc),
 * channel multiplier 1: conv2d with groups = C = K, each channel convolved with its own
 * kernel.
 *
 * - `depthwise_conv2d_nchwc{strides, pads, dilations, block}(x, w)`: x [N, C/b, H, W, b],
 *   w [C/b, 1, R, S, 1, b] (OIHW1i{b}o: the depthwise OIHW weight [C, 1, R, S] blocked like
 *   conv2d_nchwc's with an input block of 1) → [N, C/b, OH, OW, b], the same numbers as
 *   conv2d(groups = C) in NCHW/OIHW up to the layouts. Each output element reads the same
 *   channel lane of its input and its weight, so a vector of b lanes is b channels of one
 *   pixel and the kernel needs no broadcast or shuffle.
 *   Its VJP, as conv2d_nchwc's, goes through conv2d's gradient ops in NCHW (groups = C).
 */
import type { Attrs } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import { add, int, mul } from "../../te/expr.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { AttrSpec } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, expectArity, expectFloat, expectRank, expectSameDtype, numAttr, outShape, padSpatial, shapeError, times, windowOut } from "./common.ts";
import type { ConvParams } from "./conv-params.ts";
import { convAttrSchema, convAttrs, convParams, outputPaddingFor, span, staticKernel } from "./conv-params.ts";
import { blockedDataLayout, blockedWeightLayout } from "./layout.ts";

const OP = "depthwise_conv2d_nchwc";

/** The blocked depthwise weight layout, [C/b, 1, R, S, 1, b]. */
export const depthwiseWeightLayout = (block: number): string => blockedWeightLayout(1, block);

// conv2d's schema less `groups` (always the channel count here).
const { groups: _groups, ...convSchema } = convAttrSchema(2, "none");
const attrs: Record<string, AttrSpec> = { ...convSchema, block: { kind: "int" } };

function params(a: Attrs, node: string): { p: ConvParams; b: number } {
  const p = convParams(2, { ...a, groups: 1 }, node, OP);
  const b = numAttr(a, "block");
  if (!Number.isInteger(b) || b < 1) throw attrError(node, OP, `block must be an integer ≥ 1, got ${b}`);
  return { p, b };
}

export const depthwiseConv2dNchwc = defineOp({
  name: OP,
  fusion: "outEWiseFusable",
  attrs,
  infer: (inputs, a, node) => {
    const { p, b } = params(a, node);
    expectArity(node, OP, inputs, 2);
    expectRank(node, OP, inputs, 0, 5, "x [N, C/b, H, W, b]");
    expectRank(node, OP, inputs, 1, 6, "w [C/b, 1, R, S, 1, b]");
    expectFloat(node, OP, inputs, [0, 1]);
    expectSameDtype(node, OP, inputs, [0, 1]);
    const [x, w] = inputs as [TensorType, TensorType];
    if (x.shape[4] !== b) throw shapeError(node, OP, `x's inner block is ${x.shape[4]}, block is ${b}`, inputs);
    if (w.shape[1] !== 1 || w.shape[4] !== 1) throw shapeError(node, OP, `w must be [C/b, 1, R, S, 1, b] (one input channel per output channel), got axes 1 and 4 of ${w.shape[1]} and ${w.shape[4]}`, inputs);
    if (w.shape[5] !== b) throw shapeError(node, OP, `w's inner block is ${w.shape[5]}, block is ${b}`, inputs);
    if (!sameDim(x.shape[1]!, w.shape[0]!)) throw shapeError(node, OP, `x has ${x.shape[1]} channel blocks, w has ${w.shape[0]}`, inputs);
    const kernel = staticKernel(w.shape.slice(2, 4), inputs, node, OP);
    const spatial = [0, 1].map((k) => windowOut(node, OP, inputs, x.shape[2 + k]!, p.before[k]! + p.after[k]!, span(p, kernel[k]!, k), p.strides[k]!));
    return [{ shape: [x.shape[0]!, x.shape[1]!, ...spatial, b], dtype: x.dtype }];
  },
  // out[n, c, oh, ow, ci] = Σ_{r, s} pad(x)[n, c, oh·sh + r·dh, ow·sw + s·dw, ci] · w[c, 0, r, s, 0, ci].
  compute: ([x, w], a, ctx) => {
    const { p } = params(a, ctx.name);
    const P = padSpatial(x!, [...p.before, 0], [...p.after, 0], 0, `${ctx.name}.pad`);
    const rr = reduceAxis(w!.shape[2]!, "rr"), rs = reduceAxis(w!.shape[3]!, "rs");
    return [compute(outShape(ctx), (n, c, oh, ow, ci) => {
      const h = add(times(oh!, p.strides[0]!), times(rr.var, p.dilations[0]!));
      const v = add(times(ow!, p.strides[1]!), times(rs.var, p.dilations[1]!));
      return sum([rr, rs], mul(P.at(n!, c!, h, v, ci!), w!.at(c!, int(0), rr.var, rs.var, int(0), ci!)));
    }, ctx.name)];
  },
  vjp: ({ node, b: builder }, [g]) => {
    if (!g) return [null, null];
    const { p, b } = params(node.attrs, node.name);
    const [x, w] = node.inputs as [typeof g, typeof g];
    const lt = (v: typeof g, src: string, dst: string) => builder.op1("layout_transform", [v], { src, dst });
    const data = blockedDataLayout(b), weight = depthwiseWeightLayout(b);
    const xn = lt(x, data, "NCHW"), wn = lt(w, weight, "OIHW"), gn = lt(g, data, "NCHW");
    const channels = xn.type.shape[1]!;
    if (typeof channels !== "number") throw shapeError(node.name, OP, `the channel count must be static for the gradient, got ${channels}`, [x.type]);
    const dp: ConvParams = { ...p, groups: channels };
    const kernel = w.type.shape.slice(2, 4) as number[];
    const outputPadding = outputPaddingFor(dp, xn.type.shape.slice(2), gn.type.shape.slice(2), kernel);
    const dx = builder.op1("conv_transpose2d", [gn, wn], convAttrs(dp, { output_padding: outputPadding }));
    const dw = builder.op1("conv2d_grad_weight", [xn, gn], convAttrs(dp, { kernel }));
    return [lt(dx, "NCHW", data), lt(dw, "OIHW", weight)];
  },
});
