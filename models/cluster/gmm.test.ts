import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test, vi } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { blobs } from "../data/synthetic.ts";
import type { CovarianceType } from "./gmm.ts";
import { GmmModel, gmm, loadGmm } from "./gmm.ts";
import { gmmGraphs } from "./gmm-graphs.ts";
import type { Points } from "./types.ts";
import { skipReason } from "../../test/helpers/skip.ts";

const T = 300_000;
const D = 3, K = 3;

const pointsOf = (x: Tensor): Points => ({ data: x.data as Float32Array, n: x.shape[0]!, d: x.shape[1]! });

/** Whether two labelings are the same partition (equal up to renaming the clusters). */
function samePartition(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  const ab = new Map<number, number>(), ba = new Map<number, number>();
  for (let i = 0; i < a.length; i++) {
    if ((ab.get(a[i]!) ?? b[i]) !== b[i] || (ba.get(b[i]!) ?? a[i]) !== a[i]) return false;
    ab.set(a[i]!, b[i]!);
    ba.set(b[i]!, a[i]!);
  }
  return true;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  expect(got.length, what).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) expect.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

const f64 = (data: ArrayLike<number>, shape: number[]) => Tensor.fromArray(Float64Array.from(data), shape, "f64");
const data64 = (t: Tensor): Float64Array => t.data as Float64Array;

/** Three well-separated blobs in 3-D (std 0.6 in a box of ±10). */
const separated = blobs({ n: 150, centers: K, dim: D, std: 0.6, seed: 3 });

describe("gmm recovers well-separated blobs", () => {
  const points = pointsOf(separated.x), truth = separated.y.data as Int32Array;
  const cases: [string, CovarianceType, Parameters<typeof gmm>[1]][] = [
    ["full, k-means init", "full", { k: K }],
    ["diag, k-means init", "diag", { k: K, covarianceType: "diag", nInit: 2, seed: 4 }],
    ["diag, random init", "diag", { k: K, covarianceType: "diag", init: "random", nInit: 3, seed: 5 }],
    // Given means near the true centres (the first point of each class, shifted).
    ["full, given means", "full", { k: K, init: { means: Array.from({ length: K * D }, (_, i) => points.data[Math.floor(i / D) * D + (i % D)]! + 0.5) } }],
  ];
  for (const [name, type, opts] of cases) {
    test(name, async () => {
      const { fit, model } = await gmm(points, opts);
      expect(samePartition(fit.labels, truth)).toBe(true);
      expect(fit.k).toBe(K);
      expect(fit.converged).toBe(true);
      expect(fit.iterations).toBeGreaterThan(0);
      expect(Number.isFinite(fit.objective)).toBe(true);
      expect(model.covarianceType).toBe(type);
      expect(Array.from(await model.predict(points))).toEqual(Array.from(fit.labels));
      expectClose(data64(model.params.weights), [1 / 3, 1 / 3, 1 / 3], 1e-12, "weights");
    }, T);
  }
});

// ---------------------------------------------------------------------------------------
// scikit-learn (Debian python3-sklearn) through /usr/bin/python3.

const PYTHON = "/usr/bin/python3";
const sklearnMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3-sklearn)`;
  const r = spawnSync(PYTHON, ["-c", "import sklearn.mixture._gaussian_mixture"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} cannot import scikit-learn (apt-get install python3-sklearn): ${(r.stderr || "").trim().split("\n").at(-1)}`;
})();
if (sklearnMissing) console.warn(`skipping the scikit-learn comparisons of gmm.test.ts: ${sklearnMissing}`);

/** Runs `body` with numpy as np, sklearn's mixture module as gm and the JSON input `inp`; it sets `out` (a dict of arrays/numbers). */
function sklearn(body: string, inp: Record<string, unknown>): Record<string, number[] | number | boolean> {
  const script = [
    "import json, sys, warnings", "import numpy as np", "import sklearn.mixture._gaussian_mixture as gm", "warnings.simplefilter('ignore')",
    "inp = json.load(sys.stdin)", body,
    "print(json.dumps({k: (np.asarray(v, dtype=float).ravel().tolist() if isinstance(v, np.ndarray) else v) for k, v in out.items()}))",
  ].join("\n");
  const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify(inp), encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`scikit-learn reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, number[] | number | boolean>;
}

/** Random parameters: weights summing to 1, means in ±3, SPD covariances (full) or variances in [0.3, 2) (diag). */
function randomParams(rng: Rng, type: CovarianceType): { weights: number[]; means: number[]; covariances: number[] } {
  const w = Array.from({ length: K }, () => rng.uniform(0.2, 1)), s = w.reduce((a, b) => a + b, 0);
  const covariances: number[] = [];
  for (let c = 0; c < K; c++) {
    if (type === "diag") { for (let i = 0; i < D; i++) covariances.push(rng.uniform(0.3, 2)); continue; }
    const m = Array.from({ length: D * D }, () => rng.uniform(-1, 1));
    for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) {
      let v = i === j ? 0.3 : 0;
      for (let q = 0; q < D; q++) v += m[i * D + q]! * m[j * D + q]!;
      covariances.push(v);
    }
  }
  return { weights: w.map((v) => v / s), means: Array.from({ length: K * D }, () => rng.uniform(-3, 3)), covariances };
}

describe("against scikit-learn's GaussianMixture", () => {
  const skip = sklearnMissing !== null;

  for (const type of ["full", "diag"] as const) {
    test.skipIf(skip)(skipReason(`${type}: one E-step (log-likelihood, responsibilities) and one M-step equal sklearn's internals on the same parameters`, sklearnMissing), async () => {
      const rng = new Rng(type === "full" ? 21 : 22);
      const p = randomParams(rng, type);
      const n = 40, x = Array.from({ length: n * D }, () => rng.uniform(-4, 4));
      const covShape = type === "full" ? [K, D, D] : [K, D];
      const model = new GmmModel(type, K, D, { weights: f64(p.weights, [K]), means: f64(p.means, [K, D]), covariances: f64(p.covariances, covShape) });
      const e = await model.eStep(f64(x, [n, D]));
      const m = await gmmGraphs(type, D, K).mStep({ x: f64(x, [n, D]), resp: f64(e.resp, [n, K]), reg: f64([1e-6], []) });
      const want = sklearn(`
t = inp['type']; K, D = ${K}, ${D}
X = np.array(inp['x']).reshape(-1, D)
cov = np.array(inp['cov']).reshape((K, D, D) if t == 'full' else (K, D))
g = gm.GaussianMixture(n_components=K, covariance_type=t)
g.weights_, g.means_, g.covariances_ = np.array(inp['w']), np.array(inp['m']).reshape(K, D), cov
g.precisions_cholesky_ = gm._compute_precision_cholesky(cov, t)
log_prob_norm, log_resp = g._estimate_log_prob_resp(X)
nk, means, covs = gm._estimate_gaussian_parameters(X, np.exp(log_resp), 1e-6, t)
out = dict(meanLogLik=float(log_prob_norm.mean()), resp=np.exp(log_resp), labels=g.predict(X).astype(float), weights=nk / nk.sum(), means=means, covs=covs)`,
      { type, x, w: p.weights, m: p.means, cov: p.covariances });
      expect(Math.abs(e.meanLogLik - (want["meanLogLik"] as number))).toBeLessThan(1e-12 * Math.abs(want["meanLogLik"] as number));
      expectClose(e.resp, want["resp"] as number[], 1e-12, "responsibilities");
      expect(Array.from(e.labels)).toEqual(want["labels"]);
      expectClose(data64(m["weights"]!), want["weights"] as number[], 1e-12, "weights");
      expectClose(data64(m["means"]!), want["means"] as number[], 1e-12, "means");
      expectClose(data64(m["covariances"]!), want["covs"] as number[], 1e-11, "covariances");
    }, T);

    test.skipIf(skip)(skipReason(`${type}: a whole EM run from the same start takes sklearn's iterations to its parameters and score`, sklearnMissing), async () => {
      // Overlapping blobs, so EM takes a real number of steps; sklearn starts from weights_init,
      // means_init and precisions_init = Σ⁻¹, ours from the same parameters.
      const ds = blobs({ n: 240, centers: K, dim: D, std: 2.2, box: 4, seed: 31 });
      const points = pointsOf(ds.x);
      const start = randomParams(new Rng(32), type);
      const { fit, model } = await gmm(points, { k: K, covarianceType: type, init: start });
      const want = sklearn(`
t = inp['type']; K, D = ${K}, ${D}
X = np.array(inp['x'], dtype=np.float64).reshape(-1, D)
cov = np.array(inp['cov']).reshape((K, D, D) if t == 'full' else (K, D))
prec = np.linalg.inv(cov) if t == 'full' else 1.0 / cov
g = gm.GaussianMixture(n_components=K, covariance_type=t, weights_init=inp['w'], means_init=np.array(inp['m']).reshape(K, D), precisions_init=prec, random_state=0).fit(X)
out = dict(iters=g.n_iter_, converged=bool(g.converged_), score=g.score(X), weights=g.weights_, means=g.means_, covs=g.covariances_, labels=g.predict(X).astype(float))`,
      { type, x: Array.from(points.data), w: start.weights, m: start.means, cov: start.covariances });
      expect(fit.iterations).toBe(want["iters"]);
      expect(fit.iterations).toBeGreaterThan(3);
      expect(fit.converged).toBe(want["converged"]);
      expect(Math.abs(fit.objective - (want["score"] as number))).toBeLessThan(1e-9);
      expectClose(data64(model.params.weights), want["weights"] as number[], 1e-8, "weights");
      expectClose(data64(model.params.means), want["means"] as number[], 1e-8, "means");
      expectClose(data64(model.params.covariances), want["covs"] as number[], 1e-8, "covariances");
      expect(Array.from(fit.labels)).toEqual(want["labels"]);
    }, T);
  }
});

// ---------------------------------------------------------------------------------------

/** The separated blobs with their third feature replaced by a constant. */
function withConstantFeature(): Points {
  const p = pointsOf(separated.x), data = Float32Array.from(p.data);
  for (let i = 0; i < p.n; i++) data[i * D + 2] = 7.25;
  return { ...p, data };
}

describe("degenerate covariances are regularised with one warning", () => {
  for (const type of ["full", "diag"] as const) {
    test(`${type}: a constant feature`, async () => {
      const lines: string[] = [];
      const { fit } = await gmm(withConstantFeature(), { k: K, covarianceType: type, warn: (l) => lines.push(l) });
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^gmm: warning: degenerate covariance in component\(s\) 0, 1, 2 .*regularised by reg_covar 0.000001$/);
      expect(samePartition(fit.labels, separated.y.data as Int32Array)).toBe(true);
      expect(Number.isFinite(fit.objective)).toBe(true);
    }, T);
  }

  test("full: a cluster collapsed onto one point, with the warning on stderr by default", async () => {
    // Two blobs of 60 points and 6 copies of one far point; k = 3 gives the copies their own component.
    const two = blobs({ n: 120, centers: [[0, 0, 0], [8, 8, 0]], std: 0.7, seed: 41 });
    const data = new Float32Array(126 * D);
    data.set(two.x.data as Float32Array);
    for (let i = 120; i < 126; i++) data.set([-9, 9, 4], i * D);
    const write = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const { fit, model } = await gmm({ data, n: 126, d: D }, { k: K });
      const warned = write.mock.calls.map((c) => String(c[0])).filter((s) => s.startsWith("gmm: warning"));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/degenerate covariance in component\(s\) \d \(/);
      const truth = Int32Array.from({ length: 126 }, (_, i) => (i < 120 ? (two.y.data as Int32Array)[i]! : 2));
      expect(samePartition(fit.labels, truth)).toBe(true);
      expect(Number.isFinite(fit.objective)).toBe(true);
      const w = data64(model.params.weights);
      expect(Math.min(...w)).toBeCloseTo(6 / 126, 10);
    } finally {
      write.mockRestore();
    }
  }, T);

  test("full with reg_covar 0: a singular covariance gets an extra ridge instead of a failed factorisation", async () => {
    const lines: string[] = [];
    const { fit, model } = await gmm(withConstantFeature(), { k: K, regCovar: 0, warn: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/reg_covar 0, and up to \S+ more where its Cholesky factorisation failed$/);
    expect(samePartition(fit.labels, separated.y.data as Int32Array)).toBe(true);
    expect(Number.isFinite(fit.objective)).toBe(true);
    expect(Array.from(data64(model.params.covariances)).every(Number.isFinite)).toBe(true);
  }, T);
});

describe("saving and loading", () => {
  const dirs: string[] = [];
  const tmp = () => { const d = mkdtempSync(join(tmpdir(), "lathe-gmm-")); dirs.push(d); return d; };
  afterAll(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

  for (const type of ["full", "diag"] as const) {
    test(`${type}: model.json and .npy files round-trip; the loaded model predicts the same labels`, async () => {
      const points = pointsOf(separated.x);
      const { fit, model } = await gmm(points, { k: K, covarianceType: type, seed: 7 });
      const dir = join(tmp(), "model");
      model.save(dir);
      model.save(dir); // over an existing model
      const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as Record<string, unknown>;
      expect(json).toMatchObject({ format: "lathe-cluster", version: 1, method: "gmm", k: K, d: D, covarianceType: type });
      const back = loadGmm(dir);
      expect([back.method, back.k, back.d, back.covarianceType]).toEqual(["gmm", K, D, type]);
      for (const f of ["weights", "means", "covariances"] as const) {
        expect(Array.from(data64(back.params[f]))).toEqual(Array.from(data64(model.params[f])));
      }
      expect(Array.from(await back.predict(points))).toEqual(Array.from(fit.labels));
    }, T);
  }

  test("a bad model directory is a one-line error naming the file and field", async () => {
    const points = pointsOf(separated.x);
    const { model } = await gmm(points, { k: K, covarianceType: "diag", seed: 7 });
    const dir = join(tmp(), "m");
    model.save(dir);
    const manifest = join(dir, "model.json"), good = readFileSync(manifest, "utf8");
    writeFileSync(manifest, good.replace('"diag"', '"tied"'));
    expect(() => loadGmm(dir)).toThrow(/model\.json: field "covarianceType" is "tied", expected one of full, diag/);
    writeFileSync(manifest, good.replace('"method": "gmm"', '"method": "kmeans"'));
    expect(() => loadGmm(dir)).toThrow(/holds a kmeans model, not gmm/);
    writeFileSync(manifest, good.replace(`"d": ${D}`, '"d": 4'));
    expect(() => loadGmm(dir)).toThrow(/means\.npy: shape \[3, 3\], expected \[3, 4\]/);
    writeFileSync(manifest, good);
    rmSync(join(dir, "covariances.npy"));
    expect(() => loadGmm(dir)).toThrow(/covariances\.npy: missing/);
    expect(() => loadGmm(join(dir, "nothing"))).toThrow(LatheError);
  }, T);
});

describe("bad input", () => {
  const points = pointsOf(separated.x);
  test("each is a LatheError naming the problem", async () => {
    await expect(gmm(points, { k: 0 })).rejects.toThrow(/gmm: k must be a positive integer, got 0/);
    await expect(gmm({ data: new Float32Array(6), n: 2, d: 3 }, { k: 3 })).rejects.toThrow(/k = 3 is more than the 2 points/);
    const nan = Float32Array.from(points.data);
    nan[7] = Number.NaN;
    await expect(gmm({ ...points, data: nan }, { k: K })).rejects.toThrow(/gmm: point 2, feature 1 is NaN, not a finite number/);
    await expect(gmm({ data: new Float32Array(65 * 2), n: 2, d: 65 }, { k: 1 })).rejects.toThrow(/full covariances need d ≤ 64 .*covarianceType "diag"/);
    await expect(gmm(points, { k: K, covarianceType: "tied" as CovarianceType })).rejects.toThrow(/covarianceType must be one of full, diag/);
    await expect(gmm(points, { k: K, init: { means: [1, 2] } })).rejects.toThrow(/init\.means must hold k·d = 9 numbers, got 2/);
    await expect(gmm(points, { k: K, init: { means: new Array(9).fill(0), weights: [0.5, 0.5, 0.5] } })).rejects.toThrow(/init\.weights must be positive and sum to 1/);
    await expect(gmm(points, { k: K, tol: -1 })).rejects.toThrow(/tol must be a number ≥ 0/);
    await expect(gmm(points, { k: K, maxIter: 0 })).rejects.toThrow(/maxIter must be a positive integer/);
    await expect(gmm(points, { k: K, nInit: 1.5 })).rejects.toThrow(/nInit must be a positive integer/);
    await expect(gmm(points, { k: K, regCovar: -1 })).rejects.toThrow(/regCovar must be a finite number ≥ 0/);
    const model = new GmmModel("diag", K, D, { weights: f64([0.2, 0.3, 0.5], [K]), means: f64(new Array(9).fill(0), [K, D]), covariances: f64(new Array(9).fill(1), [K, D]) });
    await expect(model.predict({ data: new Float32Array(4), n: 2, d: 2 })).rejects.toThrow(/gmm predict: the points have 2 features, the model 3/);
  });
});
