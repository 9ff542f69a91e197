/**
 * Binary arithmetic with NumPy broadcasting: add sub mul div pow maximum minimum mod. Both
 * operands share a dtype (no implicit promotion). Gradients are summed back down to each
 * operand's shape with `sum_like` where broadcasting stretched it.
 */
import type { Attrs, Value } from "../../graph/graph.ts";
import type { Expr } from "../../te/expr.ts";
import { add as addE, and, call, div as divE, lt, max, min, mul as mulE, ne, select, sub as subE } from "../../te/expr.ts";
import { compute } from "../../te/tensor.ts";
import type { AttrSpec, OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { broadcastTypes, readBroadcast } from "./broadcast.ts";
import { arity, floatOnly, numeric, outShape, sameDtype } from "./common.ts";
import type { GraphOps } from "./vjp-util.ts";
import { differentiable, graphOps } from "./vjp-util.ts";

interface BinarySpec<A extends Attrs = Attrs> {
  readonly name: string;
  readonly float: boolean;
  readonly attrs?: Readonly<Record<string, AttrSpec>>;
  readonly f: (a: Expr, b: Expr, attrs: A) => Expr;
  /** Gradients of a and b at the output's (broadcast) shape; the caller sums them down. */
  readonly grad: (o: GraphOps, a: Value, b: Value, out: Value, g: Value, attrs: A) => readonly [Value, Value];
}

function binary<A extends Attrs = Attrs>(spec: BinarySpec<A>): OpDef<A> {
  return defineOp<A>({
    name: spec.name,
    fusion: "broadcast",
    attrs: spec.attrs ?? {},
    infer: (inputs, _attrs, node) => {
      arity(inputs, 2, node, spec.name);
      const dtype = sameDtype(inputs, node, spec.name);
      if (spec.float) floatOnly(inputs[0]!, node, spec.name);
      else numeric(inputs[0]!, node, spec.name);
      return [{ shape: broadcastTypes(inputs, node, spec.name), dtype }];
    },
    compute: ([a, b], attrs, ctx) =>
      [compute(outShape(ctx), (...i) => spec.f(readBroadcast(a!, i), readBroadcast(b!, i), attrs), ctx.name)],
    vjp: ({ node, b }, [g]) => {
      const [x, y] = node.inputs as [Value, Value];
      if (!g || !differentiable(x)) return [null, null];
      const o = graphOps(b);
      const [gx, gy] = spec.grad(o, x, y, node.outputs[0]!, g, node.attrs as A);
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

type ModAttrs = { readonly fmod: number };
/**
 * ONNX Mod. fmod = 0: the remainder takes the divisor's sign (Python's %); fmod = 1: the
 * dividend's (C's fmod / %). Both for floats and integers; an integer divisor of 0 is an
 * error in the interpreter and undefined when compiled, as for div.
 */
export const mod = binary<ModAttrs>({
  name: "mod", float: false, attrs: { fmod: { kind: "int", default: 0 } },
  f: (a, b, { fmod }) => {
    const r = call("fmod", a, b);
    if (fmod) return r;
    // Move a remainder whose sign differs from the divisor's by one divisor.
    return select(and(ne(r, 0), ne(lt(r, 0), lt(b, 0))), addE(r, b), r);
  },
  // a = q·b + r with q = trunc(a/b) (fmod) or floor(a/b): ∂r/∂a = 1, ∂r/∂b = −q (away from the jumps).
  grad: (o, a, b, _y, g, { fmod }) => {
    const q = o.div(a, b);
    const down = o.op("floor", [q]);
    const whole = fmod ? o.op("where", [o.op("less", [q, o.scalar(0, q.type.dtype)]), o.op("ceil", [q]), down]) : down;
    return [g, o.neg(o.mul(g, whole))];
  },
});

export const binaryOps = [add, sub, mul, div, pow, maximum, minimum, mod];
