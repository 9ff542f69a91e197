import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { valueAndGrad } from "../../train/grad.ts";
import { infoNceLoss, sampleNegatives } from "./infonce.ts";

/** The loss written directly: Σ_k mean over contexts of −log softmax(scores)[positive]. */
function directLoss(z: Float64Array, ws: readonly Float64Array[], negs: readonly Int32Array[], b: number, g: number, c: number, n: number): number {
  const vec = (flat: number) => z.subarray(flat * c, (flat + 1) * c);
  const score = (w: Float64Array, t: Float64Array, j: Float64Array) => {
    let s = 0;
    for (let p = 0; p < c; p++) for (let q = 0; q < c; q++) s += t[p]! * w[p * c + q]! * j[q]!;
    return s;
  };
  let total = 0;
  ws.forEach((w, i) => {
    const k = i + 1;
    let sum = 0, q = 0;
    for (let bb = 0; bb < b; bb++) for (let r = 0; r < g - k; r++) for (let col = 0; col < g; col++, q++) {
      const t = vec((bb * g + r) * g + col);
      const scores = [score(w, t, vec((bb * g + r + k) * g + col))];
      for (let j = 0; j < n; j++) scores.push(score(w, t, vec(negs[i]![q * n + j]!)));
      const m = Math.max(...scores);
      sum += -(scores[0]! - m - Math.log(scores.reduce((a, s) => a + Math.exp(s - m), 0)));
    }
    total += sum / q;
  });
  return total;
}

const lossFn = (steps: number) => valueAndGrad((z, ...rest) => infoNceLoss(z!, rest.slice(0, steps), rest.slice(steps)), { executor: "interpreted" });

describe("InfoNCE", () => {
  test("a hand-computed case: 2 positions, 2 negatives", async () => {
    // One image, a 2×2 grid of 1-D vectors z = [[1, 2], [3, -1]], W = [0.5]; step 1: the
    // contexts are row 0 (z=1, z=2), their positives row 1 (3, −1).
    const z = Tensor.fromArray([1, 2, 3, -1], [1, 2, 2, 1], "f64"), w = Tensor.fromArray([0.5], [1, 1], "f64");
    // Context 1 (z=1): negatives z=2, z=−1; context 2 (z=2): negatives z=1, z=3.
    const neg = new Tensor(Int32Array.from([1, 3, 0, 2]), [2, 2], "i32");
    const { value } = await lossFn(1)(z, w, neg);
    const l1 = -Math.log(Math.exp(1.5) / (Math.exp(1.5) + Math.exp(1) + Math.exp(-0.5)));
    const l2 = -Math.log(Math.exp(-1) / (Math.exp(-1) + Math.exp(1) + Math.exp(3)));
    expect(value).toBeCloseTo((l1 + l2) / 2, 12);
  });

  test("equals the direct computation, and its gradients equal central differences (f64)", async () => {
    const rng = new Rng(3);
    const b = 2, g = 3, c = 3, n = 3, steps = 2;
    const z = Float64Array.from({ length: b * g * g * c }, () => rng.uniform(-1, 1));
    const ws = Array.from({ length: steps }, () => Float64Array.from({ length: c * c }, () => rng.uniform(-1, 1)));
    const negs = sampleNegatives(rng, b, g, steps, n);
    const negData = negs.map((t) => t.data as Int32Array);
    const args = [Tensor.fromArray(z, [b, g, g, c], "f64"), ...ws.map((w) => Tensor.fromArray(w, [c, c], "f64")), ...negs];
    const { value, grads } = await lossFn(steps)(...args);
    expect(value).toBeCloseTo(directLoss(z, ws, negData, b, g, c, n), 12);
    const eps = 1e-6;
    const numeric = (arr: Float64Array, i: number) => {
      const keep = arr[i]!;
      arr[i] = keep + eps; const up = directLoss(z, ws, negData, b, g, c, n);
      arr[i] = keep - eps; const down = directLoss(z, ws, negData, b, g, c, n);
      arr[i] = keep;
      return (up - down) / (2 * eps);
    };
    [z, ...ws].forEach((arr, a) => {
      const got = grads[a]!.toArray();
      for (let i = 0; i < arr.length; i++) expect(Math.abs(got[i]! - numeric(arr, i)), `arg ${a}[${i}]`).toBeLessThan(1e-7);
    });
  });

  test("negatives are uniform over the other positions of the batch, never the positive, and reproducible", () => {
    const [neg] = sampleNegatives(new Rng(9), 2, 4, 1, 2000);
    const data = neg!.data as Int32Array;
    const counts = new Array<number>(32).fill(0);
    for (let q = 0; q < 24; q++) {
      const b = Math.floor(q / 12), r = Math.floor((q % 12) / 4), col = q % 4;
      const pos = (b * 4 + r + 1) * 4 + col;
      for (let j = 0; j < 2000; j++) {
        const v = data[q * 2000 + j]!;
        expect(v === pos || v < 0 || v >= 32).toBe(false);
        counts[v]!++;
      }
    }
    // Each position is excluded for at most one context: expected count ≈ 24·2000/31 (±5σ).
    const mean = (24 * 2000) / 31;
    for (const c of counts) expect(Math.abs(c - mean)).toBeLessThan(5 * Math.sqrt(mean) + 2000 / 31);
    expect([...(sampleNegatives(new Rng(9), 2, 4, 1, 2000)[0]!.data as Int32Array)]).toEqual([...data]);
  });
});
