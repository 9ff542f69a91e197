import { describe, expect, test } from "vitest";
import { ShapeError } from "../../../core/errors.ts";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, inferTypes, rand, runOp, size } from "./testing.ts";

/** numpy.matmul on rank ≥ 2 operands by loops over the broadcast batch index. */
function refMatmul(a: Arr, b: Arr): Arr {
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape.at(-1)!;
  const ba = a.shape.slice(0, -2), bb = b.shape.slice(0, -2);
  const r = Math.max(ba.length, bb.length);
  const pa = [...Array(r - ba.length).fill(1), ...ba], pb = [...Array(r - bb.length).fill(1), ...bb];
  const batch = pa.map((d, k) => Math.max(d, pb[k]!));
  const out = new Float64Array(size(batch) * M * N);
  for (let f = 0; f < size(batch); f++) {
    const idx: number[] = [];
    let rest = f;
    for (let k = r - 1; k >= 0; k--) { idx.unshift(rest % batch[k]!); rest = Math.floor(rest / batch[k]!); }
    const ia = at(pa, ...idx.map((i, k) => (pa[k] === 1 ? 0 : i))), ib = at(pb, ...idx.map((i, k) => (pb[k] === 1 ? 0 : i)));
    for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[(ia * M + i) * K + k]! * b.data[(ib * K + k) * N + j]!;
      out[(f * M + i) * N + j] = s;
    }
  }
  return { data: out, shape: [...batch, M, N] };
}

describe("matmul", () => {
  const rng = new Rng(7);
  test("2-D equals the triple loop", () => {
    const a = rand(rng, [3, 4]), b = rand(rng, [4, 5]);
    expectClose(runOp("matmul", [a, b])[0]!, refMatmul(a, b));
  });
  test("N-D broadcasts batch dimensions like numpy.matmul", () => {
    const a = rand(rng, [2, 1, 3, 4]), b = rand(rng, [3, 4, 2]);
    const got = runOp("matmul", [a, b])[0]!;
    expect(got.shape).toEqual([2, 3, 3, 2]);
    expectClose(got, refMatmul(a, b));
  });
  test("batch_matmul equals per-batch products", () => {
    const a = rand(rng, [2, 3, 4]), b = rand(rng, [2, 4, 5]);
    expectClose(runOp("batch_matmul", [a, b])[0]!, refMatmul(a, b));
  });
  test("symbolic batch dimensions pass through", () => {
    expect(inferTypes("matmul", [{ shape: ["n", 3, 4] }, { shape: [4, 2] }])[0]!.shape).toEqual(["n", 3, 2]);
  });
  test("inner-dimension mismatch names the node and the shapes", () => {
    expect(() => inferTypes("matmul", [{ shape: [3, 4] }, { shape: [5, 2] }], {}, "proj")).toThrow(ShapeError);
    expect(() => inferTypes("matmul", [{ shape: [3, 4] }, { shape: [5, 2] }], {}, "proj"))
      .toThrow(/node proj \(matmul\): inner dimensions differ \(4 vs 5\); inputs f64\[3, 4\], f64\[5, 2\]/);
    expect(() => inferTypes("batch_matmul", [{ shape: [2, 3, 4] }, { shape: [4, 2] }])).toThrow(/rank 3/);
    expect(() => inferTypes("matmul", [{ shape: [2, 3, 4] }, { shape: [3, 4, 2] }])).toThrow(/batch dimensions do not broadcast/);
  });
  test("VJP (2-D)", () => checkVjp("matmul", [{ shape: [3, 4] }, { shape: [4, 2] }]));
  test("VJP with broadcast batch dimensions (sums down to each operand)", () =>
    checkVjp("matmul", [{ shape: [2, 1, 2, 3] }, { shape: [3, 3, 2] }]));
  test("VJP (batch_matmul)", () => checkVjp("batch_matmul", [{ shape: [2, 2, 3] }, { shape: [2, 3, 2] }]));
});

/** An operand with its last two axes swapped, element by element. */
function swapLast(a: Arr): Arr {
  const [r, c] = a.shape.slice(-2) as [number, number];
  const out = new Float64Array(a.data.length);
  for (let f = 0; f < a.data.length / (r * c); f++) {
    for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[f * r * c + j * r + i] = a.data[f * r * c + i * c + j]!;
  }
  return { data: out, shape: [...a.shape.slice(0, -2), c, r] };
}

describe("matmul with transA / transB", () => {
  const rng = new Rng(11);
  for (const [tA, tB] of [[true, false], [false, true], [true, true]] as const) {
    test(`transA=${tA} transB=${tB} equals the product of the transposed operands`, () => {
      const a = rand(rng, tA ? [2, 1, 4, 3] : [2, 1, 3, 4]), b = rand(rng, tB ? [3, 5, 4] : [3, 4, 5]);
      const got = runOp("matmul", [a, b], { transA: tA, transB: tB })[0]!;
      expect(got.shape).toEqual([2, 3, 3, 5]);
      expectClose(got, refMatmul(tA ? swapLast(a) : a, tB ? swapLast(b) : b));
    });
    test(`VJP transA=${tA} transB=${tB} (2-D and broadcast batch)`, () => {
      checkVjp("matmul", [{ shape: tA ? [4, 3] : [3, 4] }, { shape: tB ? [2, 4] : [4, 2] }], { transA: tA, transB: tB });
      checkVjp("matmul", [{ shape: tA ? [2, 1, 3, 2] : [2, 1, 2, 3] }, { shape: tB ? [3, 2, 3] : [3, 3, 2] }], { transA: tA, transB: tB });
      checkVjp("batch_matmul", [{ shape: tA ? [2, 3, 2] : [2, 2, 3] }, { shape: tB ? [2, 2, 3] : [2, 3, 2] }], { transA: tA, transB: tB });
    });
  }
  test("the inner dimension is read from the transposed axis; a mismatch names both", () => {
    expect(inferTypes("matmul", [{ shape: [4, 3] }, { shape: [2, 4] }], { transA: true, transB: true })[0]!.shape).toEqual([3, 2]);
    expect(() => inferTypes("matmul", [{ shape: [3, 4] }, { shape: [4, 2] }], { transA: true }, "proj"))
      .toThrow(/node proj \(matmul\): inner dimensions differ \(3 vs 4\)/);
  });
});
