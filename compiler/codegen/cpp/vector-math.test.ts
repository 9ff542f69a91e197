/**
 * Vector calls of libm (prelude.ts's lathe_v<fn>: glibc's libmvec where the toolchain has
 * it): a vectorized kernel of each function against JavaScript's Math (erf: the evaluator's,
 * the only other one here) within libmvec's stated 4 ulp, special values included.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import type { DType } from "../../../core/dtype.ts";
import { call, type Intrinsic } from "../../te/expr.ts";
import { erf } from "../../te/evaluate.ts";
import { compute, placeholder } from "../../te/tensor.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { build } from "../../driver/kernel.ts";
import { hasLibmvec } from "../../targets/cpu/toolchain.ts";
import { skipReason } from "../../../test/helpers/skip.ts";

const N = 96;
const REF: Record<string, (x: number) => number> = {
  exp: Math.exp, log: Math.log, tanh: Math.tanh, erf, sin: Math.sin, cos: Math.cos, sigmoid: (x) => 1 / (1 + Math.exp(-x)),
};
const SPECIAL = [0, -0, 1, -1, 0.5, 1e-30, -88, 88, 700, -700, Infinity, -Infinity, NaN];

function inputs(fn: string, dtype: DType): Float32Array | Float64Array {
  const xs = Array.from({ length: N }, (_, i) => (i < SPECIAL.length ? SPECIAL[i]! : (i - 60) * 0.37 + Math.sin(i) * 3));
  const v = fn === "log" ? xs.map((x) => (Number.isNaN(x) ? x : Math.abs(x) * 1.7)) : xs;
  return dtype === "f32" ? Float32Array.from(v) : Float64Array.from(v);
}

describe("vector libm calls in generated C++", () => {
  for (const dtype of ["f32", "f64"] as const) {
    test(`${dtype}: exp, log, tanh, erf, sin, cos and sigmoid, vectorized, within 4 ulp of the reference`, async () => {
      const ulp = dtype === "f32" ? 2 ** -23 : 2 ** -52;
      const round = dtype === "f32" ? Math.fround : (x: number) => x;
      for (const fn of Object.keys(REF)) {
        const A = placeholder([N], dtype, "A");
        const B = compute([N], (i) => call(fn as Intrinsic, A.at(i!)), "B");
        const s = createSchedule(B);
        const st = s.stage(B);
        st.vectorize(st.split(st.axis[0]!, { factor: dtype === "f32" ? 8 : 4 })[1]);
        const k = await build(s, [A, B], { name: `vmath_${fn}_${dtype}` });
        expect(k.source).toContain(`lathe_v${fn}(`);
        const a = inputs(fn, dtype), got = dtype === "f32" ? new Float32Array(N) : new Float64Array(N);
        k.run(a, got);
        for (let i = 0; i < N; i++) {
          const want = round(REF[fn]!(a[i]!));
          const g = got[i]!;
          if (Number.isNaN(want) || !Number.isFinite(want) || want === 0) {
            if (Number.isNaN(want)) expect(g, `${fn}(${a[i]})`).toBeNaN();
            else if (!Number.isFinite(want)) expect(g, `${fn}(${a[i]})`).toBe(want);
            else expect(Math.abs(g), `${fn}(${a[i]})`).toBeLessThan(dtype === "f32" ? 1e-37 : 1e-300);
            continue;
          }
          // 4 ulp of the result, or of the input's scale where the result is near zero (sin near π).
          const tol = 4 * ulp * Math.max(Math.abs(want), fn === "sin" || fn === "cos" ? 1 : 0);
          expect(Math.abs(g - want), `${fn}(${a[i]}) = ${g}, want ${want}`).toBeLessThanOrEqual(tol + (dtype === "f32" ? 1e-45 : 0));
        }
      }
    }, 120_000);
  }

  test.skipIf(!hasLibmvec())(skipReason("where g++ has libmvec, kernels link it", !hasLibmvec() && "g++ finds no libmvec.so (glibc's vector libm, in libc6-dev on x86-64): kernels map scalar libm calls over the lanes"), async () => {
    const A = placeholder([16], "f32", "A");
    const B = compute([16], (i) => call("exp", A.at(i!)), "B");
    const s = createSchedule(B);
    const st = s.stage(B);
    st.vectorize(st.split(st.axis[0]!, { factor: 8 })[1]);
    const k = await build(s, [A, B], { name: "vmath_link" });
    const elf = spawnSync("readelf", ["-d", k.module.artifact], { encoding: "utf8" });
    expect(elf.stdout).toMatch(/NEEDED.*libmvec\.so/);
  });
});
