/**
 * stop_gradient(x) = x, through which no gradient flows (JAX's `lax.stop_gradient`,
 * PyTorch's `detach`): a value used as a constant of the differentiation, e.g. the
 * responsibilities of an EM step taken in the forward pass, or a module's input in greedy
 * layer-wise training. Any dtype; the output is a copy of the input.
 */
import { compute } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { arity } from "./common.ts";

export const stopGradient: OpDef = defineOp({
  name: "stop_gradient",
  fusion: "elemwise",
  attrs: {},
  infer: (inputs, _attrs, node) => {
    arity(inputs, 1, node, "stop_gradient");
    return [{ shape: [...inputs[0]!.shape], dtype: inputs[0]!.dtype }];
  },
  compute: ([x], _attrs, ctx) => [compute(x!.shape, (...i) => x!.at(...i), ctx.name)],
  // The point of the op: the input is treated as a constant, whatever the output's gradient.
  vjp: () => [null],
});

export const stopGradientOps = [stopGradient] as const;
