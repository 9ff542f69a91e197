import { describe, expect, test } from "vitest";
import { build, lower } from "../../compiler/driver/kernel.ts";
import { printCppModule } from "../../compiler/codegen/cpp/print.ts";
import { add, int, max, mul, select, and, ge, lt, sub } from "../../compiler/te/expr.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, rmax, sum } from "../../compiler/te/tensor.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { rfactor } from "../../compiler/schedule/cache.ts";
import { makeBuffer } from "../../compiler/te/buffer.ts";
import type { PrimFunc } from "../../compiler/tir/stmt.ts";
import { variable } from "../../compiler/te/expr.ts";
import { gemmSchedule } from "../../compiler/targets/cpu/schedules/gemm.ts";
import { hasAsan, runUnderAsan } from "./asan-harness.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";


function conv2dPadAt(): { s: Schedule; args: Tensor[] } {
  const [N, C, H, W, K, R] = [1, 3, 11, 13, 5, 3];
  const X = placeholder([N, C, H, W], "f32", "X");
  const Wt = placeholder([K, C, R, R], "f32", "W");
  const P = compute([N, C, H + 2, W + 2], (n, c, h, w) =>
    select(and(and(ge(h, 1), lt(h, H + 1)), and(ge(w, 1), lt(w, W + 1))), X.at(n, c, sub(h, 1), sub(w, 1)), 0), "P");
  const rc = reduceAxis(C, "rc"), rh = reduceAxis(R, "rh"), rw = reduceAxis(R, "rw");
  const Y = compute([N, K, H, W], (n, k, h, w) =>
    sum([rc, rh, rw], mul(P.at(n, rc.var, add(h, rh.var), add(w, rw.var)), Wt.at(k, rc.var, rh.var, rw.var))), "Y");
  const s = createSchedule(Y);
  const y = s.stage(Y);
  const [ho, hi] = y.split(y.axis[2]!, { factor: 4 });
  const [wo, wi] = y.split(y.axis[3]!, { factor: 8 });
  y.reorder(ho, wo, hi, wi);
  y.vectorize(wi);
  y.parallel(ho);
  s.stage(P).computeAt(y, wo);
  return { s, args: [X, Wt, Y] };
}

function rowMaxRfactor(): { s: Schedule; args: Tensor[] } {
  const A = placeholder([7, 53], "f32", "A");
  const k = reduceAxis(53, "k");
  const B = compute([7], (i) => rmax(k, A.at(i, k.var)), "B");
  const s = createSchedule(B);
  const [, ki] = s.stage(B).split(k, { factor: 16 });
  const BF = rfactor(s, B, ki);
  const bf = s.stage(BF);
  bf.reorder(bf.axis[1]!, bf.reduceAxis[0]!, bf.axis[0]!);
  bf.vectorize(bf.axis[0]!);
  bf.computeAt(s.stage(B), s.stage(B).axis[0]!);
  return { s, args: [A, B] };
}

function softmaxRows(): { s: Schedule; args: Tensor[] } {
  const X = placeholder([5, 37], "f32", "X");
  const k1 = reduceAxis(37, "k1"), k2 = reduceAxis(37, "k2");
  const M = compute([5], (i) => rmax(k1, X.at(i, k1.var)), "M");
  const E = compute([5, 37], (i, j) => ({ kind: "call", fn: "exp", args: [sub(X.at(i, j), M.at(i))], dtype: "f32" }), "E");
  const S = compute([5], (i) => sum(k2, E.at(i, k2.var)), "S");
  const Y = compute([5, 37], (i, j) => ({ kind: "bin", op: "div", a: E.at(i, j), b: S.at(i), dtype: "f32" }), "Y");
  const s = createSchedule(Y);
  const y = s.stage(Y);
  const [, ji] = y.split(y.axis[1]!, { factor: 16 });
  y.vectorize(ji);
  for (const t of [M, E, S]) s.stage(t).computeAt(y, y.axis[0]!);
  return { s, args: [X, Y] };
}

/** Y[i, j] = X[i, 2j] vectorized by `lanes`: stride-2 vector loads whose last lane is X's last element. */
function strideTwo(lanes: number): () => { s: Schedule; args: Tensor[] } {
  return () => {
    const X = placeholder([3, 2 * 2 * lanes - 1], "f32", "X");
    const Y = compute([3, 2 * lanes], (i, j) => X.at(i, mul(j, 2)), "Y");
    const s = createSchedule(Y);
    const y = s.stage(Y);
    const [, ji] = y.split(y.axis[1]!, { factor: lanes });
    y.vectorize(ji);
    return { s, args: [X, Y] };
  };
}

const cases: [string, () => { s: Schedule; args: Tensor[] }][] = [
  ["stride-2 vector loads (8 lanes) ending at the last element", strideTwo(8)],
  ["stride-2 vector loads (16 lanes) ending at the last element", strideTwo(16)],
  ["gemm 67×131×45, bench schedule (packing, local accumulators, tails)", () => gemmSchedule(67, 131, 45)],
  ["conv2d with a padded stage computed at a tile", conv2dPadAt],
  ["row max through rfactor", rowMaxRfactor],
  ["softmax, stages computed at rows", softmaxRows],
];

describe("stride-2 vector loads", () => {
  test.each([8, 16])("%i lanes: one shuffle of two loads, every even element", async (lanes) => {
    const { s, args } = strideTwo(lanes)();
    const k = await build(s, args, { name: `stride_two_${lanes}` });
    expect(k.source).toContain("__builtin_shufflevector");
    const X = args[0]!;
    const cols = X.shape[1]!.kind === "const" ? X.shape[1]!.value : 0;
    const x = Float32Array.from({ length: 3 * cols }, (_, i) => i * 0.5 - 7);
    const y = new Float32Array(3 * 2 * lanes).fill(Number.NaN);
    k.run(x, y);
    expect(Array.from(y)).toEqual(Array.from(y, (_, n) => x[Math.floor(n / (2 * lanes)) * cols + 2 * (n % (2 * lanes))]!));
  }, 60_000);
});

describe.skipIf(!hasAsan)(skipReason("generated kernels under AddressSanitizer", !hasAsan && NEEDS.asan), () => {
  test.each(cases)("%s: no error", async (_, make) => {
    const { s, args } = make();
    const f = lower(s, args, { name: "kernel" });
    const r = await runUnderAsan(printCppModule([f]), f);
    expect(r.report).toBe("");
    expect(r.ok).toBe(true);
  }, 120_000);

  test("the harness does catch an out-of-bounds read (negative control)", async () => {
    // for i in [0, n + 1): B[i] = A[i] — one element past the end of A.
    const n = 17;
    const A = makeBuffer("A", "f32", [int(n)]), B = makeBuffer("B", "f32", [int(n + 1)]);
    const i = variable("i");
    const f: PrimFunc = {
      name: "kernel", params: [A, B], sizeVars: [],
      body: { kind: "for", loopVar: i, min: int(0), extent: int(n + 1), forKind: "serial",
        body: { kind: "store", buffer: B, indices: [i], value: max({ kind: "load", buffer: A, indices: [i], dtype: "f32" }, 0) } },
    };
    const r = await runUnderAsan(printCppModule([f]), f);
    expect(r.ok).toBe(false);
    expect(r.report).toContain("heap-buffer-overflow");
  }, 120_000);
});
