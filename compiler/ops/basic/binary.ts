/**
 * Binary arithmetic with NumPy broadcasting: add sub mul div pow maximum minimum. Both
 * operands share a dtype (no implicit promotion). Gradients are summed back down to each
 * operand's shape with `sum_like` where broadcasting stretched it.
 */
import type { Value } from "../../graph/graph.ts";
import type { Expr } from "../../te/expr.ts";
import { add as addE, call, div as divE, max, min, mul as mulE, sub as subE } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { broadcastTypes, readBroadcast } from "./broadcast.ts";
import { arity, floatOnly, numeric, outShape, sameDtype } from "./common.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

interface BinarySpec {
  readonly name: string;
  readonly float: boolean;
  readonly f: (a: Expr, b: Expr) => Expr;
  /** Gradients of a and b at the output's (broadcast) shape; the caller sums them down. */
  readonly grad: (o: GraphOps, a: Value, b: Value, out: Value, g: Value) => readonly [Value, Value];
}

function binary(spec: BinarySpec): OpDef {
  return defineOp({
    name: spec.name,
    fusion: "broadcast",
    attrs: {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 2, node, spec.name);
      const dtype = sameDtype(inputs, node, spec.name);
      if (spec.float) floatOnly(inputs[0]!, node, spec.name);
      else numeric(inputs[0]!, node, spec.name);
      return [{ shape: broadcastTypes(inputs, node, spec.name), dtype }];
    },
    compute: ([a, b], _attrs, ctx) =>
      [compute(outShape(ctx), (...i) => spec.f(readBroadcast(a!, i), readBroadcast(b!, i)), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      const [x, y] = node.inputs as [Value, Value];
      if (!g || !differentiable(x)) return [null, null];
      const o = graphOps(b);
      const [gx, gy] = spec.grad(o, x, y, node.outputs[0]!, g);
      return [o.sumTo(gx, x), o.sumTo(gy, y)];
    },
  });
}

export const add = binary({ name: "add", float: false, f: addE, grad: (_o, _a, _b, _y, g) => [g, g] });

export const sub = binary({ name: "sub", float: false, f: subE, grad: (o, _a, _b, _y, g) => [g, o.neg(g)] });

export const mul = binary({ name: "mul", float: false, f: mulE, grad: (o, a, b, _y, g) => [o.mul(g, b), o.mul(g, a)] });

/** True division for floats, floor division for integers (the TE `div`). */
export const div = binary({
  name: "div", float: false, f: divE,
  // d(a/b)/db = −a/b² = −out/b.
  grad: (o, _a, b, y, g) => { const gb = o.div(g, b); return [gb, o.neg(o.mul(gb, y))]; },
});

/**
 * d(aᵇ)/da = b·a^(b−1); d(aᵇ)/db = aᵇ·ln a where a > 0, and 0 where a ≤ 0 (there aᵇ is not
 * a differentiable function of a real exponent; 0 is PyTorch's choice at a = 0).
 */
export const pow = binary({
  name: "pow", float: true, f: (a, b) => call("pow", a, b),
  grad: (o, a, b, y, g) => {
    const t = a.type.dtype;
    const ga = o.mul(g, o.mul(b, o.op("pow", [a, o.sub(b, o.scalar(1, t))])));
    const gb = o.maskKeep(o.op("greater", [a, o.scalar(0, t)]), o.mul(g, o.mul(y, o.op("log", [a]))));
    return [ga, gb];
  },
});

// Ties send the whole gradient to the first operand (a subgradient; finite differences are undefined there).
export const maximum = binary({
  name: "maximum", float: false, f: max,
  grad: (o, a, b, _y, g) => { const m = o.op("greater_equal", [a, b]); return [o.maskKeep(m, g), o.maskDrop(m, g)]; },
});

export const minimum = binary({
  name: "minimum", float: false, f: min,
  grad: (o, a, b, _y, g) => { const m = o.op("less_equal", [a, b]); return [o.maskKeep(m, g), o.maskDrop(m, g)]; },
});

export const binaryOps = [add, sub, mul, div, pow, maximum, minimum];
