/**
 * conv1d_grad_weight / conv2d_grad_weight(x, dy){…conv attrs, kernel}: the gradient of a
 * convolution's weight, dw[f, c, k…] = Σ_{n, o…} dy[n, f, o…] · pad(x)[n, group(f)·C/g + c,
 * o·stride + k·dilation]. It is bilinear in (x, dy), so its own VJP is a transposed
 * convolution (for x) and a convolution (for dy) with the cotangent as the weight.
 */
import type { TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, floordiv, mul } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { checkInts, intsAttr, outShape, padSpatial, shapeError, times, windowOut } from "./common.ts";
import type { ConvParams } from "./conv-params.ts";
import {
  checkConvInputs, convAttrSchema, convAttrs, convGradWeightOpName, convOpName, convParams, convTransposeOpName,
  outputPaddingFor, perGroup, span,
} from "./conv-params.ts";

function inferGradWeight(p: ConvParams, kernel: readonly number[], inputs: readonly TensorType[], node: string, op: string): TensorType[] {
  checkConvInputs(p, inputs, node, op, ["x", "dy"]);
  checkInts(node, op, "kernel", kernel, p.d, 1);
  const [x, dy] = inputs as [TensorType, TensorType];
  if (!sameDim(x.shape[0]!, dy.shape[0]!)) throw shapeError(node, op, `batch sizes differ (${x.shape[0]} vs ${dy.shape[0]})`, inputs);
  const cg = perGroup(x.shape[1]!, p.groups, "input channels", inputs, node, op);
  perGroup(dy.shape[1]!, p.groups, "output channels", inputs, node, op);
  x.shape.slice(2).forEach((n, k) => {
    const o = windowOut(node, op, inputs, n, p.before[k]! + p.after[k]!, span(p, kernel[k]!, k), p.strides[k]!);
    if (!sameDim(o, dy.shape[2 + k]!)) throw shapeError(node, op, `dy's spatial size ${dy.shape[2 + k]} along axis ${k} is not the convolution's output size ${o}`, inputs);
  });
  return [{ shape: [dy.shape[1]!, cg, ...kernel], dtype: x.dtype }];
}

export function convGradWeightCompute(p: ConvParams, x: TeTensor, dy: TeTensor, shape: readonly Expr[], name: string): TeTensor {
  const P = padSpatial(x, p.before, p.after, 0, `${name}.pad`);
  const cg = shape[1]!;
  const fg = p.groups === 1 ? null : floordiv(dy.shape[1]!, p.groups);
  const rn = reduceAxis(x.shape[0]!, "rn");
  const ro = dy.shape.slice(2).map((o, i) => reduceAxis(o, `ro${i}`));
  return compute(shape, (f, c, ...k) => {
    const ch = fg === null ? c! : add(mul(floordiv(f!, fg), cg), c!);
    const pos = k.map((v, i) => add(times(ro[i]!.var, p.strides[i]!), times(v, p.dilations[i]!)));
    return sum([rn, ...ro], mul(dy.at(rn.var, f!, ...ro.map((r) => r.var)), P.at(rn.var, ch, ...pos)));
  }, name);
}

function defineGradWeight(d: number): OpDef {
  const op = convGradWeightOpName(d);
  return defineOp({
    name: op,
    fusion: "outEWiseFusable",
    attrs: convAttrSchema(d, "grad_weight"),
    infer: (inputs, a, node) => inferGradWeight(convParams(d, a, node, op), intsAttr(a, "kernel"), inputs, node, op),
    compute: ([x, dy], a, ctx) => [convGradWeightCompute(convParams(d, a, ctx.name, op), x!, dy!, outShape(ctx), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      if (!g) return [null, null];
      const p = convParams(d, node.attrs, node.name, op);
      const [x, dy] = node.inputs as [typeof g, typeof g];
      const kernel = intsAttr(node.attrs, "kernel");
      const outputPadding = outputPaddingFor(p, x.type.shape.slice(2), dy.type.shape.slice(2), kernel);
      return [
        b.op1(convTransposeOpName(d), [dy, g], convAttrs(p, { output_padding: outputPadding })),
        b.op1(convOpName(d), [x, g], convAttrs(p)),
      ];
    },
  });
}

export const conv1dGradWeight = defineGradWeight(1);
export const conv2dGradWeight = defineGradWeight(2);
