import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import type { Features } from "./probe.ts";
import { fitLogistic, linearProbe } from "./probe.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const PYTHON = "/usr/bin/python3";
const hasSklearn = spawnSync(PYTHON, ["-c", "import sklearn"]).status === 0;

/** Three Gaussian blobs in d dimensions (overlapping a little), seeded. */
function blobs(n: number, d: number, seed: number, spread = 1): Features {
  const rng = new Rng(seed), data = new Float32Array(n * d), labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    for (let j = 0; j < d; j++) data[i * d + j] = (j === c ? 1.5 : 0) + spread * rng.normal();
  }
  return { data, n, d, labels };
}

const softmaxRows = (f: Features, w: Float32Array, b: Float32Array, k: number): number[][] => Array.from({ length: f.n }, (_, i) => {
  const z = Array.from({ length: k }, (_, c) => { let s = b[c]!; for (let j = 0; j < f.d; j++) s += f.data[i * f.d + j]! * w[j * k + c]!; return s; });
  const m = Math.max(...z), e = z.map((v) => Math.exp(v - m)), t = e.reduce((a, v) => a + v, 0);
  return e.map((v) => v / t);
});

describe("linear probe", () => {
  test.skipIf(!hasSklearn)(skipReason("fits scikit-learn's L2 logistic regression (same optimum: C = 1 / (2λn))", !hasSklearn && NEEDS.sklearn), async () => {
    // skipped without python3-sklearn (Debian package)
    const f = blobs(60, 4, 1), lambda = 0.01;
    const model = await fitLogistic(f, lambda, { classes: 3, epochs: 1500, batch: 60, lr: 0.05, executor: "interpreted" });
    const script = `
import json, sys, numpy as np
from sklearn.linear_model import LogisticRegression
a = json.load(sys.stdin)
x = np.array(a["x"]).reshape(a["n"], a["d"]); y = np.array(a["y"])
m = LogisticRegression(C=1 / (2 * a["lam"] * a["n"]), tol=1e-10, max_iter=10000).fit(x, y)
print(json.dumps(m.predict_proba(x).tolist()))`;
    const p = spawnSync(PYTHON, ["-c", script], { input: JSON.stringify({ x: [...f.data], y: [...f.labels], n: f.n, d: f.d, lam: lambda }), encoding: "utf8" });
    expect(p.status, p.stderr).toBe(0);
    const want = JSON.parse(p.stdout) as number[][];
    const got = softmaxRows(f, model.w, model.b, 3);
    got.forEach((row, i) => row.forEach((v, c) => expect(Math.abs(v - want[i]![c]!), `row ${i} class ${c}`).toBeLessThan(2e-3)));
  }, 120_000);

  test("chooses λ on a validation split of the training data; the test labels never change the choice", async () => {
    const train = blobs(90, 6, 2, 1.2), test = blobs(60, 6, 3, 1.2);
    const opts = { classes: 3, epochs: 40, batch: 30, lr: 0.05, lambdas: [0, 1e-2, 1], executor: "interpreted" as const };
    const r = await linearProbe(train, test, opts);
    expect(r.validation).toHaveLength(3);
    expect(r.lambda).toBe(opts.lambdas[r.validation.lastIndexOf(Math.max(...r.validation))]);
    expect(r.accuracy).toBeGreaterThan(0.6);
    const shuffled = { ...test, labels: test.labels.map((y) => (y + 1) % 3) };
    const r2 = await linearProbe(train, shuffled, opts);
    expect([r2.lambda, r2.validation]).toEqual([r.lambda, r.validation]);
    expect(r2.accuracy).toBeLessThan(r.accuracy);
  }, 120_000);
});
