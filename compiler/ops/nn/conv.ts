/**
 * conv1d and conv2d (NC·spatial data, F·(C/groups)·kernel weights): stride, zero padding
 * through a padded stage, dilation and groups; depthwise is groups = C. One rule serves
 * both ranks. Gradients: the input's is the transposed convolution with the same weight,
 * the weight's is `conv{1,2}d_grad_weight` (a reduction over batch and output positions).
 */
import type { TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, floordiv, mul } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { outShape, padSpatial, shapeError, times, windowOut } from "./common.ts";
import type { ConvParams } from "./conv-params.ts";
import {
  checkConvInputs, convAttrSchema, convAttrs, convGradWeightOpName, convOpName, convParams, convTransposeOpName,
  outputPaddingFor, perGroup, span, staticKernel,
} from "./conv-params.ts";

export function inferConv(p: ConvParams, inputs: readonly TensorType[], node: string, op: string): TensorType[] {
  checkConvInputs(p, inputs, node, op, ["x", "w"]);
  const [x, w] = inputs as [TensorType, TensorType];
  const kernel = staticKernel(w.shape.slice(2), inputs, node, op);
  const cg = perGroup(x.shape[1]!, p.groups, "input channels", inputs, node, op);
  if (!sameDim(cg, w.shape[1]!)) {
    throw shapeError(node, op, `input channels ${x.shape[1]} / groups ${p.groups} do not match the weight's ${w.shape[1]} input channels`, inputs);
  }
  perGroup(w.shape[0]!, p.groups, "output channels", inputs, node, op);
  const spatial = x.shape.slice(2).map((n, k) => windowOut(node, op, inputs, n, p.before[k]! + p.after[k]!, span(p, kernel[k]!, k), p.strides[k]!));
  return [{ shape: [x.shape[0]!, w.shape[0]!, ...spatial], dtype: x.dtype }];
}

/**
 * out[n, f, o…] = Σ_{c, r…} pad(x)[n, group(f)·C/g + c, o·stride + r·dilation] · w[f, c, r…].
 */
export function convCompute(p: ConvParams, x: TeTensor, w: TeTensor, shape: readonly Expr[], name: string): TeTensor {
  const P = padSpatial(x, p.before, p.after, 0, `${name}.pad`);
  const cg = w.shape[1]!;
  const fg = p.groups === 1 ? null : floordiv(w.shape[0]!, p.groups);
  const rc = reduceAxis(cg, "rc");
  const rk = w.shape.slice(2).map((k, i) => reduceAxis(k, `r${i}`));
  return compute(shape, (n, f, ...o) => {
    const c = fg === null ? rc.var : add(mul(floordiv(f!, fg), cg), rc.var);
    const pos = o.map((v, i) => add(times(v, p.strides[i]!), times(rk[i]!.var, p.dilations[i]!)));
    return sum([rc, ...rk], mul(P.at(n!, c, ...pos), w.at(f!, rc.var, ...rk.map((r) => r.var))));
  }, name);
}

function defineConv(d: number): OpDef {
  const op = convOpName(d);
  return defineOp({
    name: op,
    fusion: "outEWiseFusable",
    attrs: convAttrSchema(d, "none"),
    infer: (inputs, a, node) => inferConv(convParams(d, a, node, op), inputs, node, op),
    compute: ([x, w], a, ctx) => [convCompute(convParams(d, a, ctx.name, op), x!, w!, outShape(ctx), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      if (!g) return [null, null];
      const p = convParams(d, node.attrs, node.name, op);
      const [x, w] = node.inputs as [typeof g, typeof g];
      const kernel = w.type.shape.slice(2) as number[];
      const outputPadding = outputPaddingFor(p, x.type.shape.slice(2), g.type.shape.slice(2), kernel);
      return [
        b.op1(convTransposeOpName(d), [g, w], convAttrs(p, { output_padding: outputPadding })),
        b.op1(convGradWeightOpName(d), [x, g], convAttrs(p, { kernel })),
      ];
    },
  });
}

export const conv1d = defineConv(1);
export const conv2d = defineConv(2);
