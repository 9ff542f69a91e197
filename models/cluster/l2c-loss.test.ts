import { describe, expect, test } from "vitest";
import { interpret } from "../../compiler/graph/interpret.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { Rng } from "../../runtime/random.ts";
import { lt } from "../../train/lt.ts";
import { l2cLoss, pairProbability } from "./l2c-loss.ts";

/** Traces the loss for B sets of n points and K heads over f64 inputs (count logits, heads, labels, k). */
function traceLoss(B: number, n: number, K: number) {
  return lt.trace(() => {
    const count = lt.input("count", [B, K], "f64");
    const heads = Array.from({ length: K }, (_, i) => lt.input(`head${i + 1}`, [B, n, i + 1], "f64"));
    const labels = lt.input("labels", [B, n], "i32"), k = lt.input("k", [B], "i32");
    const t = l2cLoss(count, heads, labels, k);
    return [t.loss, t.countLoss, t.pairLoss, pairProbability(count, heads)];
  });
}

const softmax = (v: readonly number[]): number[] => { const m = Math.max(...v), e = v.map((x) => Math.exp(x - m)), s = e.reduce((a, b) => a + b, 0); return e.map((x) => x / s); };

/** The loss written out as loops, from LEARNING.md's formulas (no clamp: the tests keep P inside (ε, 1 − ε)). */
function lossRef(count: Float64Array, heads: Float64Array[], labels: Int32Array, k: Int32Array, B: number, n: number, K: number): number {
  const P: number[][][] = [];
  let same = 0;
  for (let b = 0; b < B; b++) {
    const pk = softmax(Array.from(count.subarray(b * K, (b + 1) * K)));
    const probs = heads.map((h, i) => Array.from({ length: n }, (_, p) => softmax(Array.from(h.subarray((b * n + p) * (i + 1), (b * n + p + 1) * (i + 1))))));
    P.push(Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => probs.reduce((acc, pr, kk) => acc + pk[kk]! * pr[i]!.reduce((a, v, l) => a + v * pr[j]![l]!, 0), 0))));
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (labels[b * n + i] === labels[b * n + j]) same++;
  }
  const phi = same / (B * n * (n - 1) / 2), c = 2 / (Math.sqrt(phi) + Math.sqrt(1 - phi)), phi1 = c * Math.sqrt(1 - phi), phi2 = c * Math.sqrt(phi);
  let lca = 0, lcc = 0;
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) {
      const y = labels[b * n + i] === labels[b * n + j] ? 1 : 0, p = P[b]![i]![j]!;
      s += phi1 * y * Math.log(p) + phi2 * (1 - y) * Math.log(1 - p);
    }
    lca += (-2 / (n * (n - 1))) * s;
    const pk = softmax(Array.from(count.subarray(b * K, (b + 1) * K)));
    lcc += -Math.log(pk[k[b]! - 1]!);
  }
  return (lca + lcc) / B;
}

const feedOf = (count: Float64Array, heads: Float64Array[], labels: Int32Array, k: Int32Array, B: number, n: number, K: number) => [
  { data: count, shape: [B, K] },
  ...heads.map((h, i) => ({ data: h, shape: [B, n, i + 1] })),
  { data: labels, shape: [B, n] },
  { data: k, shape: [B] },
];

describe("the L2C loss (graph)", () => {
  test("a hand-computed case: 3 points, k_max 2", () => {
    // P(k) = (1/4, 3/4); head 2 gives the points (3/4, 1/4), (1/2, 1/2), (1/4, 3/4); head 1 is always 1.
    const count = Float64Array.of(0, Math.log(3));
    const head1 = Float64Array.of(3, -1, 0.5);
    const head2 = Float64Array.of(Math.log(3), 0, 0, 0, 0, Math.log(3));
    const labels = Int32Array.of(0, 0, 1), k = Int32Array.of(2);
    const { graph } = traceLoss(1, 3, 2);
    const [loss, lcc, lca, P] = interpret(graph, feedOf(count, [head1, head2], labels, k, 1, 3, 2)).outputs;
    // P_ij = 1/4 + 3/4 · (p_i · p_j): p0·p1 = 1/2, p0·p2 = 3/8, p1·p2 = 1/2; P_ii = 1/4 + 3/4 |p_i|².
    const want = [0.25 + 0.75 * 0.625, 0.625, 0.53125, 0.625, 0.25 + 0.75 * 0.5, 0.625, 0.53125, 0.625, 0.25 + 0.75 * 0.625];
    Array.from(P!.data).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 14));
    // One same-cluster pair of three: φ = 1/3.
    const phi = 1 / 3, c = 2 / (Math.sqrt(phi) + Math.sqrt(1 - phi)), phi1 = c * Math.sqrt(1 - phi), phi2 = c * Math.sqrt(phi);
    const wantLca = -(2 / 6) * (phi1 * Math.log(0.625) + phi2 * Math.log(1 - 0.53125) + phi2 * Math.log(1 - 0.625));
    expect(lca!.data[0]).toBeCloseTo(wantLca, 14);
    expect(lcc!.data[0]).toBeCloseTo(-Math.log(0.75), 14);
    expect(loss!.data[0]).toBeCloseTo(wantLca - Math.log(0.75), 14);
  });

  test("φ over the batch, several sets: value = the loops, gradients = central differences (f64)", () => {
    const B = 2, n = 4, K = 3, rng = new Rng(5);
    const draw = (len: number) => Float64Array.from({ length: len }, () => rng.uniform(-1.5, 1.5));
    const count = draw(B * K), heads = Array.from({ length: K }, (_, i) => draw(B * n * (i + 1)));
    const labels = Int32Array.of(0, 1, 0, 2, 1, 1, 0, 0), k = Int32Array.of(3, 2);
    const { graph } = traceLoss(B, n, K);
    const wrt = graph.inputs.slice(0, 1 + K);
    const res = interpret(autodiff(graph, graph.outputs[0]!, wrt).graph, feedOf(count, heads, labels, k, B, n, K)).outputs;
    const f = (c: Float64Array, hs: Float64Array[]) => lossRef(c, hs, labels, k, B, n, K);
    expect(res[0]!.data[0]).toBeCloseTo(f(count, heads), 12);
    const grads = res.slice(4);
    expect(grads).toHaveLength(1 + K);
    const eps = 1e-6;
    const bases = [count, ...heads];
    bases.forEach((base, w) => {
      const g = grads[w]!.data;
      let maxAbs = 0;
      for (let i = 0; i < base.length; i++) {
        const at = (delta: number) => { const vs = bases.map((v) => Float64Array.from(v)); vs[w]![i]! += delta; return f(vs[0]!, vs.slice(1)); };
        const num = (at(eps) - at(-eps)) / (2 * eps);
        maxAbs = Math.max(maxAbs, Math.abs(num));
        expect(Math.abs(g[i]! - num), `input ${w}, element ${i}: analytic ${g[i]} vs numeric ${num}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(num));
      }
      // Head 1 has a single label: its softmax is constant and its gradient zero; the others must move.
      if (w !== 1) expect(maxAbs).toBeGreaterThan(1e-3);
    });
  });
});
