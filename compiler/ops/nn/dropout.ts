/**
 * dropout{rate, seed}(x, step): y = x·keep/(1 − rate), keep = u ≥ rate, with u uniform in
 * [0, 1) from a counter-based hash of (seed, step, flat element index): deterministic, no
 * state, the same mask for the forward pass and the gradient (which is dropout of g).
 *
 * The hash is integer arithmetic that is exact in every backend: i64 values kept below 2^53
 * (so a JS double holds them exactly and C never overflows, which would be undefined for
 * signed types). TE has no bitwise operators, so a round mixes with a product and folds the
 * high half into the low half (shifts are divisions by 2^26, masks modulo 2^26):
 *   R(x, a) = (t + ⌊t / 2^26⌋) mod 2^26,  t = x·(x + a),  x < 2^26, a < 2^26  (t < 2^53)
 * The product x·(x + a) is quadratic, so flipping one input bit changes each output bit with
 * probability ≈ ½ after two rounds (checked statistically in dropout.test.ts).
 *   key  = R(R(R(seed mod 2^26, A0) + step mod 2^26 (mod 2^26), A1), A2)       (a scalar stage)
 *   x₀   = (i mod 2^26 + key) mod 2^26;  x₁ = R(x₀, A3) + ⌊i / 2^26⌋·B (mod 2^26);  x₂ = R(x₁, A4);  h = R(x₂, A5)
 *   u    = h / 2^26;  keep ⇔ h ≥ ⌈rate·2^26⌉ (an exact integer comparison)
 */
import type { Expr } from "../../te/expr.ts";
import { add, cast, floordiv, floormod, ge, int, mul, select } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, MATERIALIZE } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { attrError, expectArity, expectFloat, flatIndex, numAttr, shapeError } from "./common.ts";

const BITS = 26;
const M = 2 ** BITS;
/** Odd round constants below 2^26 (fractional digits of well-known hash constants). */
export const DROPOUT_ROUND_CONSTANTS = [0x2545f49, 0x3c6ef37, 0x1b87359, 0x27d4eb3, 0x165667b, 0x3a5b3c5] as const;
export const DROPOUT_HIGH_INDEX_MULTIPLIER = 0x2f1a3b;

const i64 = (v: number): Expr => int(v, "i64");
const mod = (e: Expr): Expr => floormod(e, i64(M));
/** One mixing round R(x, a) on x ∈ [0, 2^26). */
function round(x: Expr, a: number): Expr {
  const t = mul(x, add(x, i64(a)));
  return mod(add(t, floordiv(t, i64(M))));
}

/** The threshold the 26-bit hash must reach for an element to be kept. */
export const keepThreshold = (rate: number): number => Math.ceil(rate * M);

export function dropoutCompute(x: TeTensor, step: TeTensor, rate: number, seed: number, name: string): TeTensor {
  const A = DROPOUT_ROUND_CONSTANTS;
  const key = compute([], () => {
    let k = round(mod(i64(seed)), A[0]);
    k = round(mod(add(k, mod(cast("i64", step.at())))), A[1]);
    return round(k, A[2]);
  }, `${name}.key`);
  const thr = i64(keepThreshold(rate));
  const scale = rate < 1 ? 1 / (1 - rate) : 0;
  // Each round is its own stage, kept in memory ("materialize"): inlined, every round would
  // repeat the previous one four times in the expression, and the printed C++ would grow
  // as 4^rounds.
  const materialize = { tag: MATERIALIZE };
  const index = (ix: readonly Expr[]) => cast("i64", flatIndex(ix, x.shape));
  const h0 = compute(x.shape, (...ix) => mod(add(mod(index(ix)), key.at())), `${name}.h0`, materialize);
  const h1 = compute(x.shape, (...ix) =>
    mod(add(round(h0.at(...ix), A[3]), mul(floordiv(index(ix), i64(M)), i64(DROPOUT_HIGH_INDEX_MULTIPLIER)))), `${name}.h1`, materialize);
  const h2 = compute(x.shape, (...ix) => round(h1.at(...ix), A[4]), `${name}.h2`, materialize);
  const h3 = compute(x.shape, (...ix) => round(h2.at(...ix), A[5]), `${name}.h3`, materialize);
  return compute(x.shape, (...ix) => select(ge(h3.at(...ix), thr), mul(x.at(...ix), scale), 0), name);
}

export const dropout: OpDef = defineOp({
  name: "dropout",
  fusion: "elemwise",
  attrs: { rate: { kind: "float" }, seed: { kind: "int" } },
  infer: (inputs, a, node) => {
    expectArity(node, "dropout", inputs, 2);
    expectFloat(node, "dropout", inputs, [0]);
    const rate = numAttr(a, "rate"), seed = numAttr(a, "seed");
    if (!(rate >= 0 && rate <= 1)) throw attrError(node, "dropout", `rate must be in [0, 1], got ${rate}`);
    if (Math.abs(seed) > Number.MAX_SAFE_INTEGER) throw attrError(node, "dropout", `seed ${seed} is not an exact integer`);
    const step = inputs[1]!;
    if (step.dtype !== "i32" || step.shape.length !== 0) throw shapeError(node, "dropout", "step must be an i32 scalar (shape [])", inputs);
    return [inputs[0]!];
  },
  compute: ([x, step], a, ctx) => [dropoutCompute(x!, step!, numAttr(a, "rate"), numAttr(a, "seed"), ctx.name)],
  // Linear in x with the same mask: the gradient is dropout of g with the same seed and step.
  vjp: ({ node, b }, [g]) => (g ? [b.op1("dropout", [g, node.inputs[1]!], node.attrs), null] : [null, null]),
});
