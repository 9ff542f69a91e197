/**
 * Seeded image augmentations as graph ops, for self-supervised and clustering objectives
 * that compare augmented views of a batch. Each takes the images x ([N, …, H, W]: the
 * leading axis indexes images, the last two are rows and columns, any axes between are
 * channels that share one draw) and the step counter (an i32 scalar input, so one traced
 * graph draws fresh augmentations at every step without a re-trace):
 *
 *   augment_shift{max_shift, seed}(x, step)   translates each image by (dy, dx), integers
 *       uniform in [−s, s], with zero fill: y[n,…,i,j] = x[n,…,i−dy,j−dx] (0 outside). A
 *       random crop after zero-padding by s is the same map.
 *   augment_rotate{max_degrees, seed}(x, step) rotates each image about its centre
 *       c = ((H−1)/2, (W−1)/2) by θ uniform in [−max, max] degrees, sampling bilinearly
 *       with zero outside: y[q] = Σ_p tent(s_r(q) − p_r) · tent(s_c(q) − p_c) · x[p] over the
 *       2×2 pixels p around s(q) = c + A(q − c), A = [[cos θ, sin θ], [−sin θ, cos θ]],
 *       tent(t) = max(0, 1 − |t|) (the bilinear weights).
 *   augment_noise{std, kind, seed}(x, step)  adds noise of standard deviation `std` to every
 *       element: "gaussian" (Box–Muller of two draws) or "uniform" (in [−√3·std, √3·std)).
 *
 * The draws come from the counter-based hash of dropout.ts (same rounds and constants) of
 * (seed, step, draw index): per image n, draw index 2n (dy) and 2n + 1 (dx) for shifts, n
 * for the angle; per element e (row-major), 2e and 2e + 1 (Gaussian) or e (uniform) for
 * noise. A draw h ∈ [0, 2^26) gives u = h / 2^26; dy = ⌊h·(2s + 1) / 2^26⌋ − s exactly in
 * integers; θ = (2u − 1)·max; Gaussian ε = √(−2 ln u₁)·cos(2π u₂) with u₁ = (h₁ + ½) / 2^26.
 * Two views of one batch are two nodes with different seeds.
 *
 * Gradients with respect to the images (never the draws): shift and rotation are linear in
 * x, and `transpose: true` applies the adjoint map with the same draws (the VJP); noise is
 * additive, so its VJP passes the gradient through. The rotation's adjoint gathers, for each
 * input pixel p, every output pixel q whose sample point lies within one pixel of p: those q
 * lie within √2 of c + Aᵀ(p − c), a 4×4 window of candidates.
 */
import type { Expr } from "../../te/expr.ts";
import { add, and, call, cast, floordiv, floormod, ge, int, float, lt, max, min, mul, select, sub } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, MATERIALIZE, reduceAxis, sum } from "../../te/tensor.ts";
import type { TensorType } from "../../graph/types.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, boolAttr, expectArity, expectFloat, flatIndex, numAttr, shapeError } from "./common.ts";
import { DROPOUT_HIGH_INDEX_MULTIPLIER, DROPOUT_ROUND_CONSTANTS } from "./dropout.ts";

const M = 2 ** 26;
const i64 = (v: number): Expr => int(v, "i64");
const mod = (e: Expr): Expr => floormod(e, i64(M));
/** dropout.ts's mixing round R(x, a) = (t + ⌊t / 2^26⌋) mod 2^26, t = x·(x + a). */
function round(x: Expr, a: number): Expr {
  const t = mul(x, add(x, i64(a)));
  return mod(add(t, floordiv(t, i64(M))));
}
const materialize = { tag: MATERIALIZE };

/**
 * The 26-bit hash of (seed, step, index(ix)) over `shape`, as i64 in [0, 2^26): dropout.ts's
 * construction, one materialized stage per round (inlined, each round would repeat the
 * previous one in the printed expression).
 */
function hashStage(shape: readonly Expr[], index: (ix: readonly Expr[]) => Expr, seed: number, step: TeTensor, name: string): TeTensor {
  const A = DROPOUT_ROUND_CONSTANTS;
  const key = compute([], () => round(mod(add(round(mod(i64(seed)), A[0]), mod(cast("i64", step.at())))), A[1]), `${name}.key0`);
  const key2 = compute([], () => round(key.at(), A[2]), `${name}.key`);
  const idx = (ix: readonly Expr[]) => cast("i64", index(ix));
  const h0 = compute(shape, (...ix) => mod(add(mod(idx(ix)), key2.at())), `${name}.h0`, materialize);
  const h1 = compute(shape, (...ix) =>
    mod(add(round(h0.at(...ix), A[3]), mul(floordiv(idx(ix), i64(M)), i64(DROPOUT_HIGH_INDEX_MULTIPLIER)))), `${name}.h1`, materialize);
  const h2 = compute(shape, (...ix) => round(h1.at(...ix), A[4]), `${name}.h2`, materialize);
  return compute(shape, (...ix) => round(h2.at(...ix), A[5]), `${name}.h3`, materialize);
}

/** An index clamped into [0, n): reads stay in bounds; a `select` decides whether they count. */
const clampIdx = (i: Expr, n: Expr): Expr => max(min(i, sub(n, 1)), 0);
const inside = (i: Expr, n: Expr): Expr => and(ge(i, 0), lt(i, n));

// ---- shift ----

export function shiftCompute(x: TeTensor, step: TeTensor, maxShift: number, seed: number, transpose: boolean, name: string): TeTensor {
  const r = x.shape.length, H = x.shape[r - 2]!, W = x.shape[r - 1]!;
  const h = hashStage([x.shape[0]!, int(2)], ([n, d]) => add(mul(n!, 2), d!), seed, step, `${name}.draw`);
  const off = compute([x.shape[0]!, int(2)], (n, d) => cast("i32", sub(floordiv(mul(h.at(n, d), i64(2 * maxShift + 1)), i64(M)), i64(maxShift))), `${name}.offset`, materialize);
  const sign = transpose ? 1 : -1;
  return compute(x.shape, (...ix) => {
    const si = add(ix[r - 2]!, mul(off.at(ix[0]!, int(0)), sign)), sj = add(ix[r - 1]!, mul(off.at(ix[0]!, int(1)), sign));
    const read = x.at(...ix.slice(0, r - 2), clampIdx(si, H), clampIdx(sj, W));
    return select(and(inside(si, H), inside(sj, W)), read, float(0, x.dtype));
  }, name);
}

// ---- rotation ----

/** [N, 2]: cos θ and sin θ per image, in x's dtype. */
function rotationStage(x: TeTensor, step: TeTensor, maxDegrees: number, seed: number, name: string): TeTensor {
  const h = hashStage([x.shape[0]!], ([n]) => n!, seed, step, `${name}.draw`);
  const dt = x.dtype;
  const maxRad = (maxDegrees * Math.PI) / 180;
  const theta = compute([x.shape[0]!], (n) => mul(sub(mul(cast(dt, h.at(n)), float(2 / M, dt)), float(1, dt)), float(maxRad, dt)), `${name}.theta`, materialize);
  return compute([x.shape[0]!, int(2)], (n, k) =>
    select(lt(k, 1), call("cos", theta.at(n)), call("sin", theta.at(n))), `${name}.cossin`, materialize);
}

const tent = (t: Expr): Expr => max(sub(float(1, t.dtype), call("abs", t)), float(0, t.dtype));

export function rotateCompute(x: TeTensor, step: TeTensor, maxDegrees: number, seed: number, transpose: boolean, name: string): TeTensor {
  const r = x.shape.length, H = x.shape[r - 2]!, W = x.shape[r - 1]!, dt = x.dtype;
  const cs = rotationStage(x, step, maxDegrees, seed, name);
  const cy = mul(cast(dt, sub(H, 1)), float(0.5, dt)), cx = mul(cast(dt, sub(W, 1)), float(0.5, dt));
  const f = (i: Expr): Expr => cast(dt, i);
  /** s(q) = c + A(q − c) for output pixel q = (qi, qj) of image n. */
  const sample = (n: Expr, qi: Expr, qj: Expr): [Expr, Expr] => {
    const c = cs.at(n, int(0)), s = cs.at(n, int(1));
    const di = sub(f(qi), cy), dj = sub(f(qj), cx);
    return [add(cy, add(mul(c, di), mul(s, dj))), add(cx, sub(mul(c, dj), mul(s, di)))];
  };
  if (!transpose) {
    return compute(x.shape, (...ix) => {
      const lead = ix.slice(0, r - 2);
      const [sy, sx] = sample(ix[0]!, ix[r - 2]!, ix[r - 1]!);
      const i0 = cast("i32", call("floor", sy)), j0 = cast("i32", call("floor", sx));
      let acc: Expr = float(0, dt);
      for (const [a, b] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) {
        const pi = add(i0, a), pj = add(j0, b);
        const w = mul(tent(sub(sy, f(pi))), tent(sub(sx, f(pj))));
        acc = add(acc, select(and(inside(pi, H), inside(pj, W)), mul(w, x.at(...lead, clampIdx(pi, H), clampIdx(pj, W))), float(0, dt)));
      }
      return acc;
    }, name);
  }
  // The adjoint: x here holds the output-side gradient; gather it at every q near p's preimage.
  const ra = reduceAxis(4, "ra"), rb = reduceAxis(4, "rb");
  return compute(x.shape, (...ix) => {
    const n = ix[0]!, lead = ix.slice(0, r - 2), pi = ix[r - 2]!, pj = ix[r - 1]!;
    const c = cs.at(n, int(0)), s = cs.at(n, int(1));
    const di = sub(f(pi), cy), dj = sub(f(pj), cx);
    // q* = c + Aᵀ(p − c); candidates ⌊q* − √2⌋ + 0…3 on each axis.
    const qy = add(cy, sub(mul(c, di), mul(s, dj))), qx = add(cx, add(mul(s, di), mul(c, dj)));
    const qi = add(cast("i32", call("floor", sub(qy, float(Math.SQRT2, dt)))), ra.var);
    const qj = add(cast("i32", call("floor", sub(qx, float(Math.SQRT2, dt)))), rb.var);
    const [sy, sx] = sample(n, qi, qj);
    const w = mul(tent(sub(sy, f(pi))), tent(sub(sx, f(pj))));
    return sum([ra, rb], select(and(inside(qi, H), inside(qj, W)), mul(w, x.at(...lead, clampIdx(qi, H), clampIdx(qj, W))), float(0, dt)));
  }, name);
}

// ---- noise ----

export type NoiseKind = "gaussian" | "uniform";

export function noiseCompute(x: TeTensor, step: TeTensor, std: number, kind: NoiseKind, seed: number, name: string): TeTensor {
  const dt = x.dtype;
  const flat = (ix: readonly Expr[]) => flatIndex(ix.slice(0, x.shape.length), x.shape);
  const u = (h: Expr): Expr => mul(cast(dt, h), float(1 / M, dt));
  if (kind === "uniform") {
    const h = hashStage(x.shape, flat, seed, step, `${name}.draw`);
    const a = Math.sqrt(3) * std;
    return compute(x.shape, (...ix) => add(x.at(...ix), mul(sub(mul(u(h.at(...ix)), float(2, dt)), float(1, dt)), float(a, dt))), name);
  }
  // Two draws per element, 2e and 2e + 1, as two stages of x's shape.
  const twice = (ix: readonly Expr[]) => mul(cast("i64", flat(ix)), i64(2));
  const h1 = hashStage(x.shape, twice, seed, step, `${name}.draw1`);
  const h2 = hashStage(x.shape, (ix) => add(twice(ix), i64(1)), seed, step, `${name}.draw2`);
  return compute(x.shape, (...ix) => {
    const u1 = add(u(h1.at(...ix)), float(0.5 / M, dt)), u2 = u(h2.at(...ix));
    const eps = mul(call("sqrt", mul(call("log", u1), float(-2, dt))), call("cos", mul(u2, float(2 * Math.PI, dt))));
    return add(x.at(...ix), mul(eps, float(std, dt)));
  }, name);
}

// ---- the ops ----

function checkInputs(node: string, op: string, inputs: readonly TensorType[], seed: number): void {
  expectArity(node, op, inputs, 2);
  expectFloat(node, op, inputs, [0]);
  if (inputs[0]!.shape.length < 3) throw shapeError(node, op, "x must be images [N, …, H, W] (rank ≥ 3)", inputs);
  const step = inputs[1]!;
  if (step.dtype !== "i32" || step.shape.length !== 0) throw shapeError(node, op, "step must be an i32 scalar (shape [])", inputs);
  if (!Number.isInteger(seed) || Math.abs(seed) > Number.MAX_SAFE_INTEGER) throw attrError(node, op, `seed ${seed} is not an exact integer`);
}

export const augmentShift: OpDef = defineOp({
  name: "augment_shift",
  fusion: "injective",
  attrs: { max_shift: { kind: "int" }, seed: { kind: "int" }, transpose: { kind: "bool", default: false } },
  infer: (inputs, a, node) => {
    checkInputs(node, "augment_shift", inputs, numAttr(a, "seed"));
    const s = numAttr(a, "max_shift");
    if (s < 0 || s > 1 << 20) throw attrError(node, "augment_shift", `max_shift must be in [0, 2^20], got ${s}`);
    return [inputs[0]!];
  },
  compute: ([x, step], a, ctx) => [shiftCompute(x!, step!, numAttr(a, "max_shift"), numAttr(a, "seed"), boolAttr(a, "transpose"), ctx.name)],
  // Linear in x: the gradient is the adjoint shift (the opposite offsets) of g.
  vjp: ({ node, b }, [g]) => (g ? [b.op1("augment_shift", [g, node.inputs[1]!], { ...node.attrs, transpose: !node.attrs["transpose"] }), null] : [null, null]),
});

export const augmentRotate: OpDef = defineOp({
  name: "augment_rotate",
  // The adjoint form is a windowed reduction; neither form fuses into neighbours.
  fusion: "opaque",
  attrs: { max_degrees: { kind: "float" }, seed: { kind: "int" }, transpose: { kind: "bool", default: false } },
  infer: (inputs, a, node) => {
    checkInputs(node, "augment_rotate", inputs, numAttr(a, "seed"));
    const d = numAttr(a, "max_degrees");
    if (!(d >= 0 && d <= 180)) throw attrError(node, "augment_rotate", `max_degrees must be in [0, 180], got ${d}`);
    return [inputs[0]!];
  },
  compute: ([x, step], a, ctx) => [rotateCompute(x!, step!, numAttr(a, "max_degrees"), numAttr(a, "seed"), boolAttr(a, "transpose"), ctx.name)],
  vjp: ({ node, b }, [g]) => (g ? [b.op1("augment_rotate", [g, node.inputs[1]!], { ...node.attrs, transpose: !node.attrs["transpose"] }), null] : [null, null]),
});

export const augmentNoise: OpDef = defineOp({
  name: "augment_noise",
  fusion: "elemwise",
  attrs: { std: { kind: "float" }, kind: { kind: "string", default: "gaussian" }, seed: { kind: "int" } },
  infer: (inputs, a, node) => {
    checkInputs(node, "augment_noise", inputs, numAttr(a, "seed"));
    const std = numAttr(a, "std"), kind = a["kind"];
    if (!(std >= 0 && Number.isFinite(std))) throw attrError(node, "augment_noise", `std must be finite and ≥ 0, got ${std}`);
    if (kind !== "gaussian" && kind !== "uniform") throw attrError(node, "augment_noise", `kind must be "gaussian" or "uniform", got ${JSON.stringify(kind)}`);
    return [inputs[0]!];
  },
  compute: ([x, step], a, ctx) => [noiseCompute(x!, step!, numAttr(a, "std"), a["kind"] as NoiseKind, numAttr(a, "seed"), ctx.name)],
  // Additive noise: the gradient passes through unchanged.
  vjp: (_ctx, [g]) => [g, null],
});

export const augmentOps = [augmentShift, augmentRotate, augmentNoise] as const;
