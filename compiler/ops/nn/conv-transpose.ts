/**
 * Transposed convolutions conv_transpose1d / conv_transpose2d (weights C_in·(C_out/groups)·
 * kernel), the adjoint of conv with the same parameters. Computed as TVM does: a stage that
 * dilates the input by the stride and pads it by dilation·(k − 1) − pads (reading the input
 * only where a stride-aligned in-bounds element exists), then a stride-1 convolution with
 * the flipped kernel. Gradients: the input's is conv with the same weight; the weight's is
 * conv_grad_weight with the roles of data and output gradient swapped.
 */
import type { TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import type { Expr } from "../../te/expr.ts";
import { add, and, eq, floordiv, floormod, ge, le, mul, select, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { outShape, plus, shapeError, times } from "./common.ts";
import type { ConvParams } from "./conv-params.ts";
import {
  checkConvInputs, convAttrSchema, convAttrs, convGradWeightOpName, convOpName, convParams, convTransposeOpName,
  perGroup, span, staticKernel, timesGroups, transposeOut,
} from "./conv-params.ts";

export function inferConvTranspose(p: ConvParams, inputs: readonly TensorType[], node: string, op: string): TensorType[] {
  checkConvInputs(p, inputs, node, op, ["x", "w"]);
  const [x, w] = inputs as [TensorType, TensorType];
  const kernel = staticKernel(w.shape.slice(2), inputs, node, op);
  if (!sameDim(x.shape[1]!, w.shape[0]!)) {
    throw shapeError(node, op, `input channels ${x.shape[1]} do not match the weight's ${w.shape[0]} input channels`, inputs);
  }
  perGroup(x.shape[1]!, p.groups, "input channels", inputs, node, op);
  const cout = timesGroups(w.shape[1]!, p.groups, "output channels per group", inputs, node, op);
  const spatial = x.shape.slice(2).map((n, k) => transposeOut(p, n, kernel[k]!, k, inputs, node, op));
  return [{ shape: [x.shape[0]!, cout, ...spatial], dtype: x.dtype }];
}

/**
 * D[n, c, q…] = x[n, c, (q − L)/s] where q − L is a stride multiple inside the input, else 0,
 * with L = dilation·(k − 1) − pad_before (negative L crops).
 * out[n, co, o…] = Σ_{ci, r…} D[n, group·C_in/g + ci, o + r·dilation] · w[group·C_in/g + ci, co mod C_out/g, k − 1 − r].
 */
export function convTransposeCompute(p: ConvParams, x: TeTensor, w: TeTensor, shape: readonly Expr[], name: string): TeTensor {
  const kernel = w.shape.slice(2).map((k) => (k.kind === "const" ? k.value : NaN));
  const lead = kernel.map((k, i) => span(p, k, i) - 1 - p.before[i]!);
  const dshape = [x.shape[0]!, x.shape[1]!, ...shape.slice(2).map((o, i) => plus(o, span(p, kernel[i]!, i) - 1))];
  const D = compute(dshape, (n, c, ...q) => {
    const conds: Expr[] = [];
    const idx = q.map((v, i) => {
      const s = p.strides[i]!, L = lead[i]!;
      const t = L === 0 ? v : sub(v, L);
      if (L > 0) conds.push(ge(t, 0));
      conds.push(le(t, times(plus(x.shape[2 + i]!, -1), s)));
      if (s === 1) return t;
      conds.push(eq(floormod(t, s), 0));
      return floordiv(t, s);
    });
    return select(conds.reduce((a, b) => and(a, b)), x.at(n!, c!, ...idx), 0);
  }, `${name}.dilate`);

  const coutG = w.shape[1]!;
  const cinG = p.groups === 1 ? x.shape[1]! : floordiv(x.shape[1]!, p.groups);
  const rc = reduceAxis(cinG, "rc");
  const rk = kernel.map((k, i) => reduceAxis(k, `r${i}`));
  return compute(shape, (n, co, ...o) => {
    const ci = p.groups === 1 ? rc.var : add(mul(floordiv(co!, coutG), cinG), rc.var);
    const cw = p.groups === 1 ? co! : floormod(co!, coutG);
    const pos = o.map((v, i) => add(v, times(rk[i]!.var, p.dilations[i]!)));
    const flipped = rk.map((r, i) => sub(kernel[i]! - 1, r.var));
    return sum([rc, ...rk], mul(D.at(n!, ci, ...pos), w.at(ci, cw, ...flipped)));
  }, name);
}

function defineConvTranspose(d: number): OpDef {
  const op = convTransposeOpName(d);
  return defineOp({
    name: op,
    fusion: "outEWiseFusable",
    attrs: convAttrSchema(d, "transpose"),
    infer: (inputs, a, node) => inferConvTranspose(convParams(d, a, node, op), inputs, node, op),
    compute: ([x, w], a, ctx) => [convTransposeCompute(convParams(d, a, ctx.name, op), x!, w!, outShape(ctx), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      if (!g) return [null, null];
      const p = convParams(d, node.attrs, node.name, op);
      const [x, w] = node.inputs as [typeof g, typeof g];
      const kernel = w.type.shape.slice(2) as number[];
      return [
        b.op1(convOpName(d), [g, w], convAttrs(p)),
        b.op1(convGradWeightOpName(d), [g, x], convAttrs(p, { kernel })),
      ];
    },
  });
}

export const convTranspose1d = defineConvTranspose(1);
export const convTranspose2d = defineConvTranspose(2);
