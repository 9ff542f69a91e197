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
