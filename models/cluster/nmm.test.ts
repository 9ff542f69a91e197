import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { runArtifact } from "../../cli/commands/run.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { LatheError } from "../../core/errors.ts";
import { loadModule } from "../../runtime/module.ts";
import { writeNpy } from "../../runtime/npy.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lt } from "../../train/lt.ts";
import { blobs } from "../data/synthetic.ts";
import { adjustedRandIndex, clusterAccuracy } from "../lib/cluster-metrics.ts";
import { loadNmm, nmm } from "./nmm.ts";
import { Conv3x3 } from "./nmm-network.ts";
import type { NmmTransform } from "./nmm-objective.ts";
import { emTerms, symmetricKl } from "./nmm-objective.ts";
import type { Points } from "./types.ts";

const T = 240_000;
const dirs: string[] = [];
const tempDir = (): string => { const d = mkdtempSync(path.join(tmpdir(), "nmm-test-")); dirs.push(d); return d; };
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

// ---- the EM objective, written again with plain loops (the reference) ----

/** z = tanh(x·W + b): the tiny network of the gradient tests. */
function netRef(x: Float64Array, W: Float64Array, b: Float64Array, n: number, d: number, k: number): Float64Array {
  const z = new Float64Array(n * k);
  for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) {
    let s = b[c]!;
    for (let j = 0; j < d; j++) s += x[i * d + j]! * W[j * k + c]!;
    z[i * k + c] = Math.tanh(s);
  }
  return z;
}

/** log(π_k p_k(x_n)) with p_k = s_nk / Σ_m s_mk, s = σ(z) or exp(z), π = softmax(ρ). */
function logJointRef(z: Float64Array, rho: Float64Array, n: number, k: number, transform: NmmTransform): Float64Array {
  const s = z.map((v) => (transform === "sigmoid" ? 1 / (1 + Math.exp(-v)) : Math.exp(v)));
  const rhoMax = Math.max(...rho), lse = rhoMax + Math.log(rho.reduce((a, r) => a + Math.exp(r - rhoMax), 0));
  const out = new Float64Array(n * k);
  for (let c = 0; c < k; c++) {
    let col = 0;
    for (let i = 0; i < n; i++) col += s[i * k + c]!;
    for (let i = 0; i < n; i++) out[i * k + c] = Math.log(s[i * k + c]! / col) + rho[c]! - lse;
  }
  return out;
}

/** γ = softmax(log(π p) / T) per row (T = 0: one-hot at the first maximum). */
function gammaRef(lj: Float64Array, n: number, k: number, temperature: number): Float64Array {
  const g = new Float64Array(n * k);
  for (let i = 0; i < n; i++) {
    const row = Array.from(lj.subarray(i * k, (i + 1) * k));
    if (temperature === 0) { g[i * k + row.indexOf(Math.max(...row))] = 1; continue; }
    const m = Math.max(...row), e = row.map((v) => Math.exp((v - m) / temperature)), sum = e.reduce((a, v) => a + v, 0);
    e.forEach((v, c) => (g[i * k + c] = v / sum));
  }
  return g;
}

/** Q = mean_n Σ_k γ_nk log(π_k p_k(x_n)) with γ given (held fixed). */
const qRef = (lj: Float64Array, gamma: Float64Array, n: number): number => lj.reduce((a, v, i) => a + gamma[i]! * v, 0) / n;

describe("the NMM objective (graph) against the formula", () => {
  const n = 6, d = 3, k = 4;
  const rng = new Rng(11);
  const draw = (len: number, scale = 1) => Float64Array.from({ length: len }, () => rng.uniform(-scale, scale));
  const x = draw(n * d, 2), W0 = draw(d * k), b0 = draw(k), rho0 = draw(k, 0.5);

  for (const [transform, temperature] of [["sigmoid", 1], ["softmax", 1], ["sigmoid", 0], ["sigmoid", 0.5]] as const) {
    test(`${transform}, E-step temperature ${temperature}: value and gradient = finite differences of Q with γ held fixed (f64)`, () => {
      const traced = lt.trace(() => {
        const xs = lt.input("x", [n, d], "f64"), W = lt.input("W", [d, k], "f64"), b = lt.input("b", [k], "f64"), rho = lt.input("rho", [k], "f64");
        const { objective, gamma } = emTerms(xs.matmul(W).add(b).tanh(), rho, transform, temperature);
        return [objective, gamma];
      });
      const g = traced.graph;
      const wrt = [1, 2, 3].map((i) => g.inputs[i]!);
      const withGrads = autodiff(g, g.outputs[0]!, wrt).graph;
      const feed = [[x, [n, d]], [W0, [d, k]], [b0, [k]], [rho0, [k]]].map(([data, shape]) => ({ data: data as Float64Array, shape: shape as number[] }));
      const [q, gamma, gW, gb, grho] = interpret(withGrads, feed).outputs;

      const lj0 = logJointRef(netRef(x, W0, b0, n, d, k), rho0, n, k, transform);
      const gamma0 = gammaRef(lj0, n, k, temperature);
      expect(q!.data[0]).toBeCloseTo(qRef(lj0, gamma0, n), 12);
      gamma!.data.forEach((v, i) => expect(v).toBeCloseTo(gamma0[i]!, 12));

      // Central differences of Q(W, b, ρ; γ0): γ stays at its value at the base point.
      const Q = (W: Float64Array, b: Float64Array, rho: Float64Array) => qRef(logJointRef(netRef(x, W, b, n, d, k), rho, n, k, transform), gamma0, n);
      const eps = 1e-6;
      const check = (got: Float64Array, base: Float64Array, at: (v: Float64Array) => number) => {
        base.forEach((_, i) => {
          const plus = Float64Array.from(base), minus = Float64Array.from(base);
          plus[i] += eps; minus[i] -= eps;
          const num = (at(plus) - at(minus)) / (2 * eps);
          expect(Math.abs(got[i]! - num), `analytic ${got[i]} vs numeric ${num}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(num));
        });
      };
      check(gW!.data, W0, (W) => Q(W, b0, rho0));
      check(gb!.data, b0, (b) => Q(W0, b, rho0));
      check(grho!.data, rho0, (rho) => Q(W0, b0, rho));
      // γ does depend on the weights: without the stop the gradient would differ (the test can fail).
      const Qfull = (W: Float64Array) => { const lj = logJointRef(netRef(x, W, b0, n, d, k), rho0, n, k, transform); return qRef(lj, gammaRef(lj, n, k, temperature || 1), n); };
      const plus = Float64Array.from(W0), minus = Float64Array.from(W0);
      plus[0] += eps; minus[0] -= eps;
      if (temperature !== 0) expect(Math.abs((Qfull(plus) - Qfull(minus)) / (2 * eps) - gW!.data[0]!)).toBeGreaterThan(1e-6);
    });
  }

  test("the consistency term is ½(KL(q1‖q2) + KL(q2‖q1)) of the views' posteriors; gradients flow into both", () => {
    const a0 = draw(n * k, 2), b1 = draw(n * k, 2);
    const traced = lt.trace(() => symmetricKl(lt.input("a", [n, k], "f64"), lt.input("b", [n, k], "f64")));
    const g = traced.graph;
    const ref = (a: Float64Array, b: Float64Array) => {
      const q = (v: Float64Array) => gammaRef(v, n, k, 1);
      const qa = q(a), qb = q(b);
      let s = 0;
      for (let i = 0; i < n * k; i++) s += 0.5 * (qa[i]! * Math.log(qa[i]! / qb[i]!) + qb[i]! * Math.log(qb[i]! / qa[i]!));
      return s / n;
    };
    const res = interpret(autodiff(g, g.outputs[0]!, g.inputs).graph, [{ data: a0, shape: [n, k] }, { data: b1, shape: [n, k] }]).outputs;
    expect(res[0]!.data[0]).toBeCloseTo(ref(a0, b1), 12);
    const eps = 1e-6;
    for (const [which, grad] of [[0, res[1]!], [1, res[2]!]] as const) {
      for (let i = 0; i < n * k; i++) {
        const p = [Float64Array.from(a0), Float64Array.from(b1)], m = [Float64Array.from(a0), Float64Array.from(b1)];
        p[which]![i] += eps; m[which]![i] -= eps;
        expect(grad.data[i]!).toBeCloseTo((ref(p[0]!, p[1]!) - ref(m[0]!, m[1]!)) / (2 * eps), 7);
      }
    }
  });

  test("Conv3x3: the training form (im2col, static batch) equals the inference form (conv2d, symbolic batch)", () => {
    const conv = new Conv3x3(2, 3, { rng: new Rng(4), name: "c", bias: true });
    const xs = Float32Array.from({ length: 2 * 2 * 5 * 4 }, () => rng.uniform(-1, 1));
    const run = (batch: number | string) => {
      const { graph, trace } = lt.trace(() => conv.forward(lt.input("x", [batch, 2, 5, 4], "f32")));
      expect(graph.nodes.some((nd) => nd.op === (typeof batch === "number" ? "im2col" : "conv2d"))).toBe(true);
      const feed = graph.inputs.map((v) => {
        const p = [...trace.params].find(([, pv]) => pv === v)?.[0];
        return p ? { data: p.value.data as Float32Array, shape: [...p.shape] } : { data: xs, shape: [2, 2, 5, 4] };
      });
      return interpret(graph, feed).outputs[0]!;
    };
    const a = run(2), b = run("n");
    expect(a.shape).toEqual([2, 3, 5, 4]);
    a.data.forEach((v, i) => expect(v).toBeCloseTo(b.data[i]!, 5));
  });
});

// ---- fits ----

/** Three blobs of σ 0.5 whose centres are at least 7 apart (14σ): well separated. */
const blobPoints = (seed: number): { points: Points; truth: Int32Array } => {
  const set = blobs({ n: 150, centers: [[-4, 0], [4, 0], [0, 6]], std: 0.5, seed });
  return { points: { data: set.x.data as Float32Array, n: 150, d: 2 }, truth: set.y.data as Int32Array };
};

/** 8×8 images of three shapes at random places: a horizontal bar, a vertical bar, a 3×3 square; noisy. */
function shapeImages(n: number, seed: number): { points: Points; truth: Int32Array } {
  const rng = new Rng(seed), data = new Float32Array(n * 64), truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3, r = rng.int(1, 6), q = rng.int(1, 6);
    truth[i] = c;
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) {
      const on = c === 0 ? y === r && x >= 1 && x <= 6 : c === 1 ? x === q && y >= 1 && y <= 6 : Math.abs(y - r) <= 1 && Math.abs(x - q) <= 1;
      data[i * 64 + y * 8 + x] = (on ? 1 : 0) + 0.05 * rng.normal();
    }
  }
  return { points: { data, n, d: 64 }, truth };
}

describe("nmm fits", () => {
  test("recovers three well-separated blobs (ACC = ARI = 1); seeded; save → load → predict gives the same labels", async () => {
    const { points, truth } = blobPoints(3);
    const opts = { k: 3, seed: 1, epochs: 120, batchSize: 50 } as const;
    const progress: number[] = [];
    const { fit, model } = await nmm(points, { ...opts, onProgress: (done) => progress.push(done) });
    expect(clusterAccuracy(fit.labels, truth)).toBe(1);
    expect(adjustedRandIndex(fit.labels, truth)).toBe(1);
    expect(fit.iterations).toBe(120);
    expect(progress).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    // The EM objective over all points is at most −log n (every density flat over its cluster).
    expect(fit.objective).toBeLessThanOrEqual(-Math.log(150) + 1e-9);
    expect(fit.objective).toBeGreaterThan(-Math.log(150) - 0.1);
    expect([...(await model.predict(points))]).toEqual([...fit.labels]);

    const dir = tempDir();
    model.save(dir);
    const loaded = loadNmm(dir);
    expect([loaded.method, loaded.k, loaded.d]).toEqual(["nmm", 3, 2]);
    expect([...(await loaded.predict(points))]).toEqual([...fit.labels]);
    const fresh = blobPoints(9);
    expect([...(await loaded.predict(fresh.points))]).toEqual([...(await model.predict(fresh.points))]);

    // Saving again (the loaded model, into the same directory) leaves one network directory.
    loaded.save(dir);
    expect(readdirSync(dir).filter((f) => f.startsWith("network-"))).toHaveLength(1);
    expect([...(await loadNmm(dir).predict(points))]).toEqual([...fit.labels]);
  }, T);

  test("seeded fits repeat; the saved network is an artifact the runtime loads and `lathe run` executes, with the in-process outputs", async () => {
    const { points } = blobPoints(5);
    const { model, losses, fit } = await nmm(points, { k: 3, seed: 2, epochs: 20, batchSize: 50 });
    // Seeded: a second fit repeats every epoch's loss and every label.
    const again = await nmm(points, { k: 3, seed: 2, epochs: 20, batchSize: 50 });
    expect(again.losses).toEqual(losses);
    expect([...again.fit.labels]).toEqual([...fit.labels]);
    // Restarts: run r trains from seed + 7919·r; the fit keeps the run with the higher EM objective.
    const other = await nmm(points, { k: 3, seed: 2 + 7919, epochs: 20, batchSize: 50 });
    const both = await nmm(points, { k: 3, seed: 2, epochs: 20, batchSize: 50, restarts: 2 });
    const winner = other.fit.objective > fit.objective ? other : again;
    expect(both.fit.objective).toBe(Math.max(fit.objective, other.fit.objective));
    expect(both.losses).toEqual(winner.losses);
    expect([...both.fit.labels]).toEqual([...winner.fit.labels]);
    const dir = tempDir();
    model.save(dir);
    const network = readdirSync(dir).find((f) => f.startsWith("network-"))!;
    const mod = loadModule(path.join(dir, network));
    expect(mod.inputs.map((s) => [s.name, s.dtype, s.shape])).toEqual([["x", "f32", ["n", 2]]]);
    expect(mod.outputs.map((s) => s.name)).toEqual(["labels", "posteriors"]);
    const x = new Tensor(points.data, [points.n, 2], "f32");
    const [labels, post] = mod.run([x]);
    expect([...labels!.toArray()]).toEqual([...(await model.predict(points))]);
    const inProcess = await (model as { posteriors(p: Points): Promise<Float32Array> }).posteriors(points);
    expect([...post!.toArray()]).toEqual([...inProcess]);
    const rows = post!.toArray();
    for (let i = 0; i < points.n; i++) expect(rows[3 * i]! + rows[3 * i + 1]! + rows[3 * i + 2]!).toBeCloseTo(1, 5);

    const input = path.join(tempDir(), "x.npy"), out = path.join(path.dirname(input), "labels.npy");
    writeNpy(input, x);
    const logged: string[] = [];
    const outs = runArtifact(path.join(dir, network), { input: [input], output: [out, path.join(path.dirname(input), "post.npy")] }, (s) => logged.push(s));
    expect(existsSync(out)).toBe(true);
    expect([...outs[0]!.toArray()]).toEqual([...labels!.toArray()]);
  }, T);

  test("images: the CNN with two augmented views, swapped-view EM and the consistency term clusters three shapes (seeded: ACC 1)", async () => {
    const { points, truth } = shapeImages(90, 7);
    const { fit, model } = await nmm(points, {
      k: 3, seed: 0, image: { h: 8, w: 8 }, temperature: 0, priors: "uniform", views: "swap", channels: [8], hidden: [32], epochs: 100, batchSize: 30, lr: 3e-3,
      augment: { shift: 1, rotate: 10, noise: 0.05 }, lambda: 1, lambdaWarmup: 5,
    });
    expect(clusterAccuracy(fit.labels, truth)).toBeGreaterThanOrEqual(0.9);
    const dir = tempDir();
    model.save(dir);
    expect([...(await loadNmm(dir).predict(points))]).toEqual([...fit.labels]);
  }, T);

  test("bad input gets one-line errors naming the problem", async () => {
    const { points } = blobPoints(3);
    await expect(nmm(points, { k: 0 })).rejects.toThrow(/nmm: k must be a positive integer, got 0/);
    await expect(nmm(points, { k: 151 })).rejects.toThrow(/nmm: k = 151 exceeds the number of points \(150\)/);
    const bad = Float32Array.from(points.data);
    bad[7] = NaN;
    await expect(nmm({ ...points, data: bad }, { k: 3 })).rejects.toThrow(/nmm: point 3, feature 1 is NaN, not a finite number/);
    await expect(nmm(points, { k: 3, image: { h: 2, w: 2 } })).rejects.toThrow(/nmm: image 2×2 does not match 2 features per point/);
    await expect(nmm(points, { k: 3, transform: "relu" as NmmTransform })).rejects.toThrow(/nmm: transform must be one of sigmoid, softmax, got relu/);
    await expect(nmm(points, { k: 3, augment: { shift: 2 } })).rejects.toThrow(/nmm: augmentations need images/);
    await expect(nmm(points, { k: 3, epochs: 1.5 })).rejects.toThrow(LatheError);
    await expect(nmm(points, { k: 3, restarts: 0 })).rejects.toThrow(/nmm: restarts must be a positive integer, got 0/);
    await expect(nmm(points, { k: 3, image: { h: 1, w: 2 }, augment: { noiseKind: "salt" as "uniform" } })).rejects.toThrow(/nmm: augment.noiseKind must be "gaussian" or "uniform", got salt/);

    const dir = tempDir();
    expect(() => loadNmm(path.join(dir, "missing"))).toThrow(/no such model directory/);
    writeFileSync(path.join(dir, "model.json"), JSON.stringify({ format: "lathe-cluster", version: 1, method: "nmm", k: 3, d: 2, network: "../etc" }));
    expect(() => loadNmm(dir)).toThrow(/field "network" must name the network's directory/);
    writeFileSync(path.join(dir, "model.json"), JSON.stringify({ format: "lathe-cluster", version: 1, method: "kmeans", k: 3, d: 2 }));
    expect(() => loadNmm(dir)).toThrow(/holds a kmeans model, not nmm/);
  }, T);
});
