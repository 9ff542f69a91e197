import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { skipReason } from "../../test/helpers/skip.ts";
import { Rng } from "../../runtime/random.ts";
import { jacobiSchedule, pca, pcaTransform, symmetricEigen } from "./pca.ts";
import type { Points } from "./types.ts";

const T = 300_000;

/** Seeded anisotropic points: feature f scaled by (1 + f)^−0.7, so the eigenvalues are distinct. */
function anisotropic(n: number, d: number, seed: number): Points {
  const rng = new Rng(seed);
  return { data: Float32Array.from({ length: n * d }, (_, k) => rng.normal() * (1 + (k % d)) ** -0.7 + (k % d) * 0.1), n, d };
}

const PYTHON = "/usr/bin/python3";
const numpyMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing (apt-get install python3)`;
  const r = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no numpy (apt-get install python3-numpy)`;
})();

/** numpy.linalg.eigh of the covariance (ddof 1) of f32 points, eigenpairs descending. */
function numpyEigh(p: Points): { values: number[]; vectors: number[][]; trace: number } {
  const script = `
import json, sys
import numpy as np
a = json.load(sys.stdin)
X = np.array(a["x"], dtype=np.float32).reshape(a["n"], a["d"]).astype(np.float64)
C = np.cov(X, rowvar=False, ddof=1)
w, v = np.linalg.eigh(C)
o = np.argsort(w)[::-1]
print(json.dumps({"values": w[o].tolist(), "vectors": v[:, o].T.tolist(), "trace": float(np.trace(C))}))
`;
  const r = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify({ x: Array.from(p.data), n: p.n, d: p.d }), encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { values: number[]; vectors: number[][]; trace: number };
}

describe("PCA", () => {
  test("the Jacobi schedule pairs every two indices exactly once, in rounds of disjoint pairs", () => {
    for (const s of [2, 5, 6, 7]) {
      const seen = new Set<string>();
      for (const { p, r } of jacobiSchedule(s)) {
        const used = [...p, ...r];
        expect(new Set(used).size).toBe(used.length);
        p.forEach((a, i) => { expect(a).toBeLessThan(r[i]!); seen.add(`${a},${r[i]}`); });
      }
      expect(seen.size).toBe((s * (s - 1)) / 2);
    }
  });

  test.skipIf(numpyMissing !== null)(skipReason(`Jacobi eigen-decomposition of a 7 × 7 symmetric matrix equals numpy.linalg.eigh`, numpyMissing), async () => {
    const rng = new Rng(9), s = 7;
    const b = Array.from({ length: s * s }, () => rng.normal());
    const a = new Float64Array(s * s);
    for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) for (let k = 0; k < s; k++) a[i * s + j]! += b[i * s + k]! * b[j * s + k]!;
    const got = await symmetricEigen(a, s);
    const r = spawnSync(PYTHON, ["-c", "import json,sys,numpy as np; a=np.array(json.load(sys.stdin)).reshape(7,7); w,v=np.linalg.eigh(a); print(json.dumps({'w':w.tolist(),'v':v.T.tolist()}))"], { input: JSON.stringify(Array.from(a)), encoding: "utf8" });
    const want = JSON.parse(r.stdout) as { w: number[]; v: number[][] };
    const order = Array.from({ length: s }, (_, i) => i).sort((x, y) => got.values[x]! - got.values[y]!);
    order.forEach((col, i) => {
      expect(Math.abs(got.values[col]! - want.w[i]!)).toBeLessThan(1e-10 * Math.abs(want.w[s - 1]!));
      const dot = want.v[i]!.reduce((acc, x, f) => acc + x * got.vectors[f * s + col]!, 0);
      expect(Math.abs(Math.abs(dot) - 1)).toBeLessThan(1e-10);
    });
  }, T);

  test.skipIf(numpyMissing !== null)(skipReason(`top components and explained variance equal numpy.linalg.eigh of the covariance`, numpyMissing), async () => {
    const points = anisotropic(200, 30, 3), q = 4;
    const r = await pca(points, { q, seed: 1 });
    expect(r.converged).toBe(true);
    expect(r.iterations).toBeGreaterThan(1); // s = 14 < d = 30: the iteration did the work
    const want = numpyEigh(points);
    for (let i = 0; i < q; i++) {
      expect(Math.abs(r.explainedVariance[i]! - want.values[i]!) / want.values[i]!, `variance ${i}`).toBeLessThan(1e-9);
      expect(Math.abs(r.explainedVarianceRatio[i]! - want.values[i]! / want.trace)).toBeLessThan(1e-9);
      const comp = r.components.subarray(i * 30, (i + 1) * 30);
      const dot = want.vectors[i]!.reduce((acc, x, f) => acc + x * comp[f]!, 0);
      expect(Math.abs(Math.abs(dot) - 1), `component ${i} (up to sign)`).toBeLessThan(1e-7);
      // Sign convention: the largest-magnitude entry is positive.
      const big = comp.reduce((b, x, f) => (Math.abs(x) > Math.abs(comp[b]!) ? f : b), 0);
      expect(comp[big]!).toBeGreaterThan(0);
    }
    // The mean and the projection, against plain arithmetic.
    const proj = await pcaTransform(r, points);
    expect([proj.n, proj.d]).toEqual([200, q]);
    for (const row of [0, 57, 199]) {
      for (let i = 0; i < q; i++) {
        let v = 0;
        for (let f = 0; f < 30; f++) v += (points.data[row * 30 + f]! - r.mean[f]!) * r.components[i * 30 + f]!;
        expect(Math.abs(proj.data[row * q + i]! - v)).toBeLessThan(1e-5);
      }
    }
  }, T);

  test("bad q and constant points are one-line errors", async () => {
    const points = anisotropic(5, 3, 1);
    await expect(pca(points, { q: 4 })).rejects.toThrow("pca: q must be an integer in 1…min(n − 1, d) = 3, got 4");
    await expect(pca({ data: new Float32Array(6).fill(2), n: 3, d: 2 }, { q: 1 })).rejects.toThrow("pca: the points have no variance");
  }, T);
});
