import { describe, expect, it } from "vitest";
import { gemmSchedule } from "../targets/cpu/schedules/gemm.ts";
import type { GemmTiles } from "../targets/cpu/schedules/gemm.ts";
import { lower } from "../driver/kernel.ts";
import { add } from "../te/expr.ts";
import { compute, placeholder } from "../te/tensor.ts";
import { createSchedule } from "../schedule/schedule.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Tensor } from "../te/tensor.ts";
import { lowerSchedule } from "../tir/lower.ts";
import { flattenStorage } from "../tir/passes/flatten.ts";
import type { PrimFunc } from "../tir/stmt.ts";
import {
  BUFFER_FEATURES, CURVE_LENGTH, FOR_KINDS, ITERVAR_LENGTH, LOOP_FEATURES, LOOP_OFFSET, NEST_FEATURES, NEST_HEADER,
  curveFeatures, featureLength, itervarFeatures,
} from "./features.ts";

const preVector = (s: Schedule, args: readonly Tensor[]): PrimFunc => flattenStorage.run(lowerSchedule(s, args, "k"));
const gemm = (t: GemmTiles, pre = false): PrimFunc => {
  const { s, args } = gemmSchedule(64, 64, 32, t);
  return pre ? preVector(s, args) : lower(s, args, { name: "g" });
};

/** C[i, j] = A[j, i] + 1 over 32×64, with the inner axis optionally annotated. */
function transpose(opts: { vectorize?: boolean; parallel?: boolean } = {}) {
  const A = placeholder([64, 32], "f32", "A");
  const C = compute([32, 64], (i, j) => add(A.at(j, i), 1), "C");
  const s = createSchedule(C);
  const st = s.stage(C);
  const [i, j] = st.axis;
  if (opts.parallel) st.parallel(i!);
  if (opts.vectorize) {
    const [, ji] = st.split(j!, { factor: 8 });
    st.vectorize(ji);
  }
  return { s, args: [A, C] };
}

const loopAt = (nest: number, loop: number): number => nest * NEST_FEATURES + NEST_HEADER + loop * LOOP_FEATURES;
const kindOf = (x: Float32Array, o: number): string[] => FOR_KINDS.filter((_, k) => x[o + LOOP_OFFSET.kind + k] === 1);
const differ = (a: Float32Array, b: Float32Array) => a.some((v, i) => v !== b[i]);

describe("autotune features", () => {
  it("have fixed lengths and finite, non-negative values", () => {
    expect(featureLength()).toEqual({ itervar: ITERVAR_LENGTH, curve: CURVE_LENGTH });
    const t = transpose({ vectorize: true, parallel: true });
    for (const f of [gemm({ mr: 4, nr: 16, ku: 2 }), gemm({ mr: 6, nr: 64, ku: 1 }, true), lower(t.s, t.args)]) {
      const a = itervarFeatures(f), c = curveFeatures(f);
      expect(a.length).toBe(ITERVAR_LENGTH);
      expect(c.length).toBe(CURVE_LENGTH);
      for (const v of [...a, ...c]) { expect(Number.isFinite(v)).toBe(true); expect(v).toBeGreaterThanOrEqual(0); }
    }
  });

  it("are deterministic: the same schedule built twice gives identical arrays", () => {
    for (const pre of [false, true]) {
      const t = { mr: 4, nr: 16, ku: 2 };
      expect(itervarFeatures(gemm(t, pre))).toEqual(itervarFeatures(gemm(t, pre)));
      expect(curveFeatures(gemm(t, pre))).toEqual(curveFeatures(gemm(t, pre)));
    }
  });

  it("change with gemm tile sizes", () => {
    for (const pre of [false, true]) {
      const a = gemm({ mr: 4, nr: 16, ku: 1 }, pre), b = gemm({ mr: 8, nr: 32, ku: 1 }, pre), c = gemm({ mr: 4, nr: 16, ku: 4 }, pre);
      expect(differ(itervarFeatures(a), itervarFeatures(b))).toBe(true);
      expect(differ(curveFeatures(a), curveFeatures(b))).toBe(true);
      expect(differ(itervarFeatures(a), itervarFeatures(c))).toBe(true);
    }
  });

  it("one-hot kinds reflect parallel and vectorized annotations", () => {
    const serial = transpose(), par = transpose({ parallel: true }), vec = transpose({ vectorize: true });
    const fs = lower(serial.s, serial.args), fp = lower(par.s, par.args);
    const xs = itervarFeatures(fs), xp = itervarFeatures(fp);
    expect(kindOf(xs, loopAt(0, 0))).toEqual(["serial"]);
    expect(kindOf(xp, loopAt(0, 0))).toEqual(["parallel"]);
    expect(kindOf(xp, loopAt(0, 1))).toEqual(["serial"]);
    expect(differ(curveFeatures(fs), curveFeatures(fp))).toBe(true);

    // Before vectorization the annotated loop itself is the third loop.
    const xv = itervarFeatures(preVector(vec.s, vec.args));
    expect([0, 1, 2].map((l) => kindOf(xv, loopAt(0, l)))).toEqual([["serial"], ["serial"], ["vectorized"]]);
    // After vectorization the ramp lanes are the vectorized innermost loop, extent 8.
    const xr = itervarFeatures(lower(vec.s, vec.args));
    expect(kindOf(xr, loopAt(0, 2))).toEqual(["vectorized"]);
    expect(xr[loopAt(0, 2) + LOOP_OFFSET.extent]).toBeCloseTo(Math.log2(9));
    expect(differ(xr, xs)).toBe(true);
    expect(differ(curveFeatures(lower(vec.s, vec.args)), curveFeatures(fs))).toBe(true);
  });

  it("gemm's parallel panel loop and vectorized lanes show in the one-hot", () => {
    const x = itervarFeatures(gemm({ mr: 4, nr: 16, ku: 1 }));
    expect(kindOf(x, loopAt(0, 0))).toEqual(["parallel"]);
    let vectorized = 0;
    for (let n = 0; n < 4; n++) for (let l = 0; l < 8; l++) if (kindOf(x, loopAt(n, l)).includes("vectorized")) vectorized++;
    expect(vectorized).toBeGreaterThan(0);
  });

  it("computes strides, touched elements and reuse per buffer (sorted by name)", () => {
    const { s, args } = transpose();
    const x = itervarFeatures(lower(s, args));
    // Loops i (32) then j (64); buffers A (read, A[j*32 + i]) then C (written, C[i*64 + j]).
    const buf = (loop: number, b: number, k: number) => x[loopAt(0, loop) + LOOP_OFFSET.buffers + b * BUFFER_FEATURES + k]!;
    expect(buf(1, 0, 0)).toBeCloseTo(Math.log2(1 + 32)); // A's stride in j
    expect(buf(1, 1, 0)).toBeCloseTo(Math.log2(1 + 1)); // C's stride in j
    expect(buf(0, 0, 0)).toBeCloseTo(Math.log2(1 + 1)); // A's stride in i
    expect(buf(0, 1, 0)).toBeCloseTo(Math.log2(1 + 64)); // C's stride in i
    expect(buf(0, 0, 1)).toBeCloseTo(Math.log2(1 + 2048)); // A touched under i: all of it
    expect(buf(1, 0, 2)).toBeCloseTo(Math.log2(2)); // no reuse
    expect(buf(0, 0, 3)).toBe(0);
    expect(buf(0, 1, 3)).toBe(1);
  });

  it("counts reuse of a buffer the inner loop does not index", () => {
    // gemm before vectorization: in the k.o/i/j nest, A does not depend on j (16 lanes) → reuse 16 at j.
    const x = itervarFeatures(gemm({ mr: 4, nr: 16, ku: 1 }, true));
    let found = false;
    for (let n = 0; n < 4 && !found; n++) {
      for (let l = 0; l < 8; l++) {
        const o = loopAt(n, l);
        if (kindOf(x, o).includes("vectorized") && x[o + LOOP_OFFSET.buffers + 2]! > 0) {
          // buffer slot 0 is A: stride 0, touched 1, reuse 16.
          if (x[o + LOOP_OFFSET.buffers]! === 0 && Math.abs(x[o + LOOP_OFFSET.buffers + 2]! - Math.log2(17)) < 1e-5) found = true;
        }
      }
    }
    expect(found).toBe(true);
  });
});
