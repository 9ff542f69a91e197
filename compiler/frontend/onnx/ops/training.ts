/**
 * ONNX's training-preview optimizers (ai.onnx.preview.training: Adagrad, Momentum, Adam)
 * as elementwise graphs, like Lathe's own optimizers. Inputs: learning rate R and step
 * count T (scalars), then n tensors per group (X, G, and the optimizer's state); outputs:
 * the updated X and states, group by group.
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";

/** The n-tensor groups after R and T: groups[k][i] is the k-th group's i-th tensor. */
function groups(ctx: ConvertContext, count: number): Value[][] {
  const n = (ctx.numInputs - 2) / count;
  if (!Number.isInteger(n) || n < 1) ctx.unsupported(`${ctx.numInputs} inputs do not split into R, T and ${count} groups`);
  return Array.from({ length: count }, (_, k) => Array.from({ length: n }, (_, i) => ctx.input(2 + k * n + i)));
}

/** Elementwise helpers in x's dtype. */
function math(ctx: ConvertContext, like: Value) {
  const t = like.type.dtype;
  const c = (v: number) => ctx.scalar(v, t);
  const f = (v: Value) => (v.type.dtype === t ? v : ctx.op("cast", [v], { dtype: t }));
  return {
    c, f,
    add: (a: Value, b: Value) => ctx.op("add", [a, b]),
    sub: (a: Value, b: Value) => ctx.op("sub", [a, b]),
    mul: (a: Value, b: Value) => ctx.op("mul", [a, b]),
    div: (a: Value, b: Value) => ctx.op("div", [a, b]),
    sqrt: (a: Value) => ctx.op("sqrt", [a]),
    /** T > 0 ? a : b (T the step count, as ONNX's optimizers test it). */
    ifStarted: (a: Value, b: Value) => ctx.op("where", [ctx.op("greater", [ctx.input(1), ctx.scalar(0, ctx.input(1).type.dtype)]), a, b]),
  };
}

const adagrad: Converter = (ctx) => {
  const [xs, gs, hs] = groups(ctx, 3) as [Value[], Value[], Value[]];
  const decay = ctx.attrs.float("decay_factor", 0), eps = ctx.attrs.float("epsilon", 1e-6), norm = ctx.attrs.float("norm_coefficient", 0);
  const m = math(ctx, xs[0]!);
  const r = m.div(m.f(ctx.input(0)), m.add(m.c(1), m.mul(m.f(ctx.input(1)), m.c(decay))));
  const out = xs.map((x, i) => {
    const g = m.add(m.mul(m.c(norm), x), gs[i]!);
    const h = m.add(hs[i]!, m.mul(g, g));
    return { x: m.sub(x, m.div(m.mul(r, g), m.add(m.sqrt(h), m.c(eps)))), h };
  });
  return [...out.map((o) => o.x), ...out.map((o) => o.h)];
};

const momentum: Converter = (ctx) => {
  const [xs, gs, vs] = groups(ctx, 3) as [Value[], Value[], Value[]];
  const alpha = ctx.attrs.float("alpha"), beta = ctx.attrs.float("beta"), norm = ctx.attrs.float("norm_coefficient");
  const mode = ctx.attrs.string("mode");
  if (mode !== "standard" && mode !== "nesterov") ctx.unsupported(`mode ${mode}`);
  const m = math(ctx, xs[0]!);
  const r = m.f(ctx.input(0));
  const betaT = m.ifStarted(m.c(beta), m.c(1));
  const out = xs.map((x, i) => {
    const g = m.add(m.mul(m.c(norm), x), gs[i]!);
    const v = m.add(m.mul(m.c(alpha), vs[i]!), m.mul(betaT, g));
    const step = mode === "standard" ? v : m.add(g, m.mul(m.c(alpha), v));
    return { x: m.sub(x, m.mul(r, step)), v };
  });
  return [...out.map((o) => o.x), ...out.map((o) => o.v)];
};

const adam: Converter = (ctx) => {
  const [xs, gs, vs, hs] = groups(ctx, 4) as [Value[], Value[], Value[], Value[]];
  const alpha = ctx.attrs.float("alpha", 0.9), beta = ctx.attrs.float("beta", 0.999), eps = ctx.attrs.float("epsilon", 1e-6);
  const norm = ctx.attrs.float("norm_coefficient", 0), post = ctx.attrs.float("norm_coefficient_post", 0);
  const m = math(ctx, xs[0]!);
  const r = m.f(ctx.input(0)), t = m.f(ctx.input(1));
  const pow = (base: number) => ctx.op("pow", [m.c(base), t]);
  const rAdj = m.ifStarted(m.div(m.mul(r, m.sqrt(m.sub(m.c(1), pow(beta)))), m.sub(m.c(1), pow(alpha))), r);
  const out = xs.map((x, i) => {
    const g = m.add(m.mul(m.c(norm), x), gs[i]!);
    const v = m.add(m.mul(m.c(alpha), vs[i]!), m.mul(m.c(1 - alpha), g));
    const h = m.add(m.mul(m.c(beta), hs[i]!), m.mul(m.c(1 - beta), m.mul(g, g)));
    const xNew = m.sub(x, m.div(m.mul(rAdj, v), m.add(m.sqrt(h), m.c(eps))));
    return { x: post === 0 ? xNew : m.mul(m.c(1 - post), xNew), v, h };
  });
  return [...out.map((o) => o.x), ...out.map((o) => o.v), ...out.map((o) => o.h)];
};

registerConverters({ Adagrad: adagrad, Momentum: momentum, Adam: adam }, "ai.onnx.preview.training");
