import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { checkGraphGrad } from "../../../test/helpers/graph-grad-check.ts";
import { compile } from "../../driver/compile.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import type { Value } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";
import { autodiff } from "../../graph/passes/autodiff.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { MAX_ORDER } from "./linalg.ts";
import type { Arr, Out } from "./testing.ts";
import { Rng, expectClose, opFailure, rand, run1, sizeOf, vjpOf } from "./testing.ts";
import { skipReason } from "../../../test/helpers/skip.ts";

// ---------------------------------------------------------------------------------------
// Independent references on row-major batches of matrices.

/** Random symmetric positive definite matrices [...batch, n, n]: M Mᵀ + n I. */
function spd(rng: Rng, batch: readonly number[], n: number): Out {
  const count = sizeOf(batch), data = new Float64Array(count * n * n);
  for (let b = 0; b < count; b++) {
    const m = Array.from({ length: n * n }, () => rng.uniform(-1, 1));
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = i === j ? n : 0;
        for (let k = 0; k < n; k++) s += m[i * n + k]! * m[j * n + k]!;
        data[b * n * n + i * n + j] = s;
      }
    }
  }
  return { shape: [...batch, n, n], data };
}

/** Random lower-triangular matrices with diagonals in [1, 2) (well conditioned); the upper triangle holds `upper`. */
function lowerTri(rng: Rng, batch: readonly number[], n: number, upper = 0): Out {
  const count = sizeOf(batch), data = new Float64Array(count * n * n);
  for (let b = 0; b < count; b++) {
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) data[(b * n + i) * n + j] = i === j ? rng.uniform(1, 2) : i > j ? rng.uniform(-0.5, 0.5) : upper;
  }
  return { shape: [...batch, n, n], data };
}

/** Batched matrix product of a [..., p, q] and b [..., q, r] (same batch), optionally transposing either. */
function matmulRef(a: Arr, b: Arr, ta = false, tb = false): Out {
  const r = a.shape.length, batch = a.shape.slice(0, -2), count = sizeOf(batch);
  const [ar, ac] = [a.shape[r - 2]!, a.shape[r - 1]!], [br, bc] = [b.shape[r - 2]!, b.shape[r - 1]!];
  const p = ta ? ac : ar, q = ta ? ar : ac, s = tb ? br : bc;
  const out = new Float64Array(count * p * s);
  for (let n = 0; n < count; n++) {
    for (let i = 0; i < p; i++) {
      for (let j = 0; j < s; j++) {
        let acc = 0;
        for (let k = 0; k < q; k++) {
          acc += a.data[n * ar * ac + (ta ? k * ac + i : i * ac + k)]! * b.data[n * br * bc + (tb ? j * bc + k : k * bc + j)]!;
        }
        out[(n * p + i) * s + j] = acc;
      }
    }
  }
  return { shape: [...batch, p, s], data: out };
}

/** The inverse of one n × n matrix by Gauss–Jordan elimination with partial pivoting. */
function inverseRef(a: ArrayLike<number>, n: number): Float64Array {
  const m = Array.from({ length: n }, (_, i) => [...Array.from({ length: n }, (_, j) => a[i * n + j]!), ...Array.from({ length: n }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r]![c]!) > Math.abs(m[p]![c]!)) p = r;
    [m[c], m[p]] = [m[p]!, m[c]!];
    const piv = m[c]![c]!;
    for (let j = 0; j < 2 * n; j++) m[c]![j]! /= piv;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r]![c]!;
      for (let j = 0; j < 2 * n; j++) m[r]![j]! -= f * m[c]![j]!;
    }
  }
  return Float64Array.from(m.flatMap((row) => row.slice(n)));
}

const transposeLast = (a: Arr): Out => {
  const r = a.shape.length, p = a.shape[r - 2]!, q = a.shape[r - 1]!, count = sizeOf(a.shape.slice(0, -2));
  const out = new Float64Array(a.data.length);
  for (let n = 0; n < count; n++) for (let i = 0; i < p; i++) for (let j = 0; j < q; j++) out[n * p * q + j * p + i] = a.data[n * p * q + i * q + j]!;
  return { shape: [...a.shape.slice(0, -2), q, p], data: out };
};

// ---------------------------------------------------------------------------------------
// NumPy / SciPy (Debian python3-numpy, python3-scipy), through /usr/bin/python3.

const PYTHON = "/usr/bin/python3";
const pythonMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3-numpy python3-scipy)`;
  const r = spawnSync(PYTHON, ["-c", "import numpy, scipy.linalg"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} cannot import numpy and scipy (apt-get install python3-numpy python3-scipy): ${(r.stderr || "").trim().split("\n").at(-1)}`;
})();
if (pythonMissing) console.warn(`skipping the NumPy comparisons of linalg.test.ts: ${pythonMissing}`);

/** Runs `body` with `inp` (the JSON input, arrays as nested lists) in scope; it must set `out`. */
function numpy(body: string, inp: Record<string, unknown>): number[] {
  const script = `import json, sys\nimport numpy as np, scipy.linalg as sl\ninp = json.load(sys.stdin)\n${body}\nprint(json.dumps(np.asarray(out, dtype=float).ravel().tolist()))`;
  const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(inp), encoding: "utf8" });
  if (r.status !== 0) throw new Error(`numpy reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as number[];
}
const np = (a: Arr) => ({ data: Array.from(a.data), shape: a.shape });

// ---------------------------------------------------------------------------------------

describe("cholesky", () => {
  test("L Lᵀ = A, L lower triangular with a positive diagonal, batched", () => {
    const rng = new Rng(1);
    for (const [batch, n] of [[[], 1], [[], 4], [[2, 3], 5]] as const) {
      const a = spd(rng, batch, n);
      const l = run1("cholesky", [a]);
      expectClose(matmulRef(l, l, false, true), a, { atol: 1e-12, rtol: 1e-12 });
      for (let k = 0; k < l.data.length; k++) {
        const i = Math.floor(k / n) % n, j = k % n;
        if (j > i) expect(l.data[k]).toBe(0);
        if (j === i) expect(l.data[k]).toBeGreaterThan(0);
      }
    }
    // A closed form: the factor of [[4, 2], [2, 5]] is [[2, 0], [1, 2]].
    expectClose(run1("cholesky", [{ shape: [2, 2], data: [4, 2, 2, 5] }]), { shape: [2, 2], data: [2, 0, 1, 2] });
  });

  test.skipIf(pythonMissing !== null)(skipReason(`equals numpy.linalg.cholesky`, pythonMissing), () => {
    const a = spd(new Rng(2), [3, 2], 6);
    const want = numpy("out = np.linalg.cholesky(np.array(inp['a']['data']).reshape(inp['a']['shape']))", { a: np(a) });
    expectClose(run1("cholesky", [a]), { shape: a.shape, data: want }, { atol: 1e-12, rtol: 1e-12 });
  });

  test("factors the symmetric part (A + Aᵀ)/2; a matrix that is not positive definite gives NaN from its failing pivot on", () => {
    const rng = new Rng(3);
    const s = spd(rng, [2], 4);
    const skew = rand(rng, [2, 4, 4]);
    const a = { shape: s.shape, data: s.data.map((v, k) => v + skew.data[k]! - transposeLast(skew).data[k]!) };
    expectClose(run1("cholesky", [a]), run1("cholesky", [s]), { atol: 1e-12, rtol: 1e-12 });
    const l = run1("cholesky", [{ shape: [3, 3], data: [1, 0, 0, 0, 1, 2, 0, 2, 1] }]);
    expect(Array.from(l.data.slice(0, 5))).toEqual([1, 0, 0, 0, 1]);
    expect(l.data[8]).toBeNaN(); // the pivot 1 − 2² < 0
  });

  test("type errors name the node", () => {
    expect(opFailure("cholesky", [[[3, 4]]]).message).toMatch(/n1 \(cholesky\): A f32\[3, 4\] must be square/);
    expect(opFailure("cholesky", [[[3]]]).message).toMatch(/n1 \(cholesky\): A must be a matrix .*rank ≥ 2/);
    expect(opFailure("cholesky", [[["n", "n"]]]).message).toMatch(/n1 \(cholesky\): A f32\[n, n\] has a symbolic order n; the order must be static/);
    expect(opFailure("cholesky", [[[3, 3], "i32"]]).message).toMatch(/n1 \(cholesky\): needs a float input/);
    expect(opFailure("cholesky", [[[0, 0]]]).message).toMatch(/is empty/);
    const big = MAX_ORDER + 1;
    expect(opFailure("cholesky", [[[2, big, big]]]).message).toMatch(new RegExp(`n1 \\(cholesky\\): A f32\\[2, ${big}, ${big}\\] has order ${big}, more than ${MAX_ORDER}, .*PCA.*diagonal model`));
    expect(opFailure("cholesky", [[[2, 2]], [[2, 2]]]).message).toMatch(/takes 1 input/);
  });

  test("VJP (Murray's formula) matches central differences, batched", () => {
    checkVjp("cholesky", [{ shape: [4, 4], data: spd(new Rng(4), [], 4).data }]);
    checkVjp("cholesky", [{ shape: [2, 3, 3], data: spd(new Rng(5), [2], 3).data }]);
    expect(vjpOf("cholesky", [{ shape: ["k", 3, 3], dtype: "f64" }])).toEqual(["f64[k, 3, 3]"]);
  });
});

describe("triangular_solve", () => {
  test("L X = B and Lᵀ X = B (the residual is 0), batched, symbolic m, the upper triangle of L never read", () => {
    const rng = new Rng(6);
    const b = new GraphBuilder();
    const lv = b.input("l", [2, 4, 4], "f64"), bv = b.input("b", [2, 4, "m"], "f64");
    const g = b.build([b.op1("triangular_solve", [lv, bv]), b.op1("triangular_solve", [lv, bv], { transpose: 1 })]);
    for (const m of [1, 3, 6]) {
      const l = lowerTri(rng, [2], 4, 7);
      // Same lower triangle, upper triangle zeroed: the solutions agree exactly.
      const lz = { shape: l.shape, data: l.data.map((v, k) => (k % 4 > Math.floor(k / 4) % 4 ? 0 : v)) };
      const rhs = rand(rng, [2, 4, m]);
      const [x, xt] = interpret(g, [l, rhs]).outputs;
      expectClose(matmulRef(lz, x!), rhs, { atol: 1e-12, rtol: 1e-12 });
      expectClose(matmulRef(lz, xt!, true), rhs, { atol: 1e-12, rtol: 1e-12 });
      expectClose(interpret(g, [lz, rhs]).outputs[0]!, x!, { atol: 0, rtol: 0 });
    }
  });

  test.skipIf(pythonMissing !== null)(skipReason(`equals scipy.linalg.solve_triangular`, pythonMissing), () => {
    const rng = new Rng(7);
    const l = lowerTri(rng, [3], 5), rhs = rand(rng, [3, 5, 2]);
    for (const transpose of [0, 1]) {
      const want = numpy(
        "L = np.array(inp['l']['data']).reshape(inp['l']['shape']); B = np.array(inp['b']['data']).reshape(inp['b']['shape'])\n" +
        "out = [sl.solve_triangular(L[i], B[i], lower=True, trans=inp['t']) for i in range(L.shape[0])]",
        { l: np(l), b: np(rhs), t: transpose },
      );
      expectClose(run1("triangular_solve", [l, rhs], { transpose }), { shape: rhs.shape, data: want }, { atol: 1e-12, rtol: 1e-12 });
    }
  });

  test("type errors name the node", () => {
    expect(opFailure("triangular_solve", [[[3, 3]], [[4, 2]]]).message).toMatch(/n1 \(triangular_solve\): B f32\[4, 2\] must be \[\.\.\., 3, m\] with L's batch axes/);
    expect(opFailure("triangular_solve", [[[2, 3, 3]], [[3, 3, 2]]]).message).toMatch(/must be \[\.\.\., 3, m\] with L's batch axes \(L f32\[2, 3, 3\]\)/);
    expect(opFailure("triangular_solve", [[[3, 3]], [[3, 2], "f64"]]).message).toMatch(/must have one dtype/);
    expect(opFailure("triangular_solve", [[[3, 3]], [[3, 2]]], { transpose: 2 }).message).toMatch(/transpose must be 0 .* or 1/);
    expect(opFailure("triangular_solve", [[[3, 2]], [[3, 2]]]).message).toMatch(/L f32\[3, 2\] must be square/);
    expect(opFailure("triangular_solve", [[["n", "n"]], [["n", 2]]]).message).toMatch(/symbolic order n/);
    expect(opFailure("triangular_solve", [[[3, 3]], [[3]]]).message).toMatch(/B must be a matrix/);
  });

  test("VJPs match central differences (both forms), batched", () => {
    const rng = new Rng(8);
    for (const transpose of [0, 1]) {
      checkVjp("triangular_solve", [{ shape: [2, 3, 3], data: lowerTri(rng, [2], 3, 0.3).data }, { shape: [2, 3, 2] }], { transpose }, { seed: 9 + transpose });
    }
    expect(vjpOf("triangular_solve", [{ shape: ["k", 3, 3], dtype: "f32" }, { shape: ["k", 3, "m"], dtype: "f32" }])).toEqual(["f32[k, 3, 3]", "f32[k, 3, m]"]);
  });
});

/** log det A = 2 Σ log diag(cholesky(A)), as a caller writes it: the op's documented composition. */
function logdetGraph(n: number) {
  const b = new GraphBuilder();
  const a = b.input("a", [n, n], "f64");
  const eye = b.constant("eye", Float64Array.from({ length: n * n }, (_, k) => (k % (n + 1) === 0 ? 1 : 0)), [n, n], "f64");
  const l = b.op1("cholesky", [a]);
  const diag = b.op1("sum", [b.op1("mul", [l, eye])], { axes: [-1] });
  const two = b.constant("two", Float64Array.of(2), [], "f64");
  return b.build([b.op1("mul", [two, b.op1("sum", [b.op1("log", [diag])], { axes: [] })])]);
}

describe("log-determinant through cholesky", () => {
  test("value and gradient A⁻¹ (central differences and Gauss–Jordan)", () => {
    const n = 4, a = spd(new Rng(10), [], n);
    const g = logdetGraph(n);
    // Closed forms: det [[4, 2], [2, 5]] = 16; d log det A / dA = A⁻¹ (A symmetric).
    expectClose(interpret(logdetGraph(2), [{ shape: [2, 2], data: [4, 2, 2, 5] }]).outputs[0]!, { shape: [], data: [Math.log(16)] });
    const grad = checkGraphGrad(g, [a], [0]);
    expectClose({ shape: [n, n], data: grad[0]! }, { shape: [n, n], data: inverseRef(a.data, n) }, { atol: 1e-10, rtol: 1e-8 });
  });

  test.skipIf(pythonMissing !== null)(skipReason(`equals numpy.linalg.slogdet`, pythonMissing), () => {
    const a = spd(new Rng(11), [], 5);
    const want = numpy("out = np.linalg.slogdet(np.array(inp['a']['data']).reshape(5, 5))[1]", { a: np(a) });
    expectClose(interpret(logdetGraph(5), [a]).outputs[0]!, { shape: [], data: want }, { atol: 1e-12, rtol: 1e-12 });
  });
});

describe("compiled for the cpu target", () => {
  test("cholesky, both solves and their gradients equal the interpreter (symbolic batch and m, f64)", async () => {
    const n = 5;
    const b = new GraphBuilder();
    const a = b.input("a", ["k", n, n], "f64"), x = b.input("x", ["k", n, "m"], "f64"), w = b.input("w", ["k", n, "m"], "f64");
    const l = b.op1("cholesky", [a]);
    const y = b.op1("triangular_solve", [l, x]), yt = b.op1("triangular_solve", [l, y], { transpose: 1 });
    const loss = b.op1("sum", [b.op1("mul", [yt, w])], { axes: [] });
    const outs: Value[] = [loss, l, y, yt];
    const { graph } = autodiff(b.build(outs), loss, [a, x]);
    const mod = await compile(graph, "cpu");
    const rng = new Rng(12);
    for (const [k, m] of [[3, 4], [1, 7]] as const) {
      const feeds = [spd(rng, [k], n), rand(rng, [k, n, m]), rand(rng, [k, n, m])];
      const want = interpret(graph, feeds).outputs;
      const got = mod.run(feeds.map((f) => Tensor.fromArray(f.data, f.shape, "f64")));
      expect(got).toHaveLength(6);
      got.forEach((t, i) => expectClose({ shape: [...t.shape], data: Float64Array.from(t.toArray()) }, want[i]!, { atol: 1e-11, rtol: 1e-11 }));
      // yt = A⁻¹ x: a check of the composition against the references above.
      const inv = { shape: [k, n, n], data: new Float64Array(k * n * n) };
      for (let j = 0; j < k; j++) inv.data.set(inverseRef(feeds[0]!.data.subarray(j * n * n, (j + 1) * n * n), n), j * n * n);
      expectClose(want[3]!, matmulRef(inv, feeds[1]!), { atol: 1e-10, rtol: 1e-10 });
    }
  }, 120_000);
});
