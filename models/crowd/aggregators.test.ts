import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { DawidSkene, MajorityVote, OneCoinDawidSkene, Wawa } from "./aggregators.ts";
import { LabelSet } from "./labels.ts";
import { labelError, simulateCrowd } from "./simulate.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const T = 120_000; // the first test to use a graph compiles it

const expectClose = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = "") => {
  expect(got.length, what).toBe(want.length);
  for (let k = 0; k < want.length; k++) {
    if (!(Math.abs(got[k]! - want[k]!) <= tol)) expect.fail(`${what}[${k}]: got ${got[k]}, want ${want[k]} (tol ${tol})`);
  }
};

/** Every item labelled "b" by all three workers. */
const unanimous = LabelSet.fromTriples(["i1", "i2", "i3", "i4"].flatMap((i) => ["u", "v", "w"].map((w) => [i, w, "b"] as const)), { classes: ["a", "b", "c"] });

describe("aggregators on hand-checkable crowds", () => {
  test("unanimous labels: every aggregator returns them", async () => {
    for (const agg of [new MajorityVote(), new Wawa(), new DawidSkene(), new OneCoinDawidSkene()]) {
      const r = await agg.fit(unanimous);
      expect([...r.labels], agg.constructor.name).toEqual([1, 1, 1, 1]);
      for (let i = 0; i < 4; i++) expect(r.posteriors[i * 3 + 1], agg.constructor.name).toBeGreaterThan(0.99);
    }
    const mv = await new MajorityVote().fit(unanimous);
    expect([...mv.posteriors]).toEqual([0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]);
    const ds = await new DawidSkene().fit(unanimous);
    expect(ds.converged).toBe(true);
    expect([...ds.prior]).toEqual([0, 1, 0]); // the prior is not smoothed
    // Worker u's row for truth b: (0.01, 4.01, 0.01) / 4.03; the rows for a and c see no mass: uniform.
    expectClose(ds.confusion.subarray(0, 9), [1 / 3, 1 / 3, 1 / 3, 0.01 / 4.03, 4.01 / 4.03, 0.01 / 4.03, 1 / 3, 1 / 3, 1 / 3], 1e-12, "confusion of u");
  }, T);

  test("majority vote: fractions of votes, ties to the lowest class, unlabelled items uniform", async () => {
    const ls = LabelSet.fromIndices({ item: [0, 0, 0, 1, 1, 2], worker: [0, 1, 2, 0, 1, 2], label: [2, 0, 2, 1, 0, 2] }, { numItems: 4, numWorkers: 3, numClasses: 3 });
    const r = await new MajorityVote().fit(ls);
    expectClose(r.posteriors, [1 / 3, 0, 2 / 3, 0.5, 0.5, 0, 0, 0, 1, 1 / 3, 1 / 3, 1 / 3], 1e-15, "mv");
    expect([...r.labels]).toEqual([2, 0, 2, 0]);
  }, T);

  test("Wawa: skill = agreement with the majority vote, then the skill-weighted vote", async () => {
    // Items x, y, z; majority: x→0 (u, v), y→1 (u, v), z: u 0, w 1 → tie → 0.
    const ls = LabelSet.fromTriples([
      ["x", "u", "0"], ["x", "v", "0"], ["x", "w", "1"],
      ["y", "u", "1"], ["y", "v", "1"], ["y", "w", "0"],
      ["z", "u", "0"], ["z", "w", "1"],
    ]);
    const r = await new Wawa().fit(ls);
    // u agrees 3/3, v 2/2, w 0/3.
    expect([...r.skills]).toEqual([1, 1, 0]);
    expectClose(r.posteriors, [1, 0, 0, 1, 1, 0], 1e-15, "wawa");
  }, T);

  test("a two-class crowd: one DS iteration equals the posterior worked by hand", async () => {
    // Items a, b; workers u, v. a: u→0, v→0. b: u→0, v→1.
    const ls = LabelSet.fromTriples([["a", "u", "0"], ["a", "v", "0"], ["b", "u", "0"], ["b", "v", "1"]]);
    // Majority vote: a = (1, 0), b = (1/2, 1/2); prior p = (3/4, 1/4).
    // Counts + 0.01: u: truth 0 → (1 + 1/2, 0) → (1.51, 0.01)/1.52; truth 1 → (1/2, 0) → (0.51, 0.01)/0.52.
    //                v: truth 0 → (1, 1/2) → (1.01, 0.51)/1.52;     truth 1 → (0, 1/2) → (0.01, 0.51)/0.52.
    const u0 = [1.51 / 1.52, 0.01 / 1.52], u1 = [0.51 / 0.52, 0.01 / 0.52];
    const v0 = [1.01 / 1.52, 0.51 / 1.52], v1 = [0.01 / 0.52, 0.51 / 0.52];
    // E: post[i, c] ∝ p_c · e_u[c, label of u] · e_v[c, label of v].
    const a = [0.75 * u0[0]! * v0[0]!, 0.25 * u1[0]! * v1[0]!];
    const b = [0.75 * u0[0]! * v0[1]!, 0.25 * u1[0]! * v1[1]!];
    const want = [a[0]! / (a[0]! + a[1]!), a[1]! / (a[0]! + a[1]!), b[0]! / (b[0]! + b[1]!), b[1]! / (b[0]! + b[1]!)];
    // ≈ (0.99057, 0.00943) and (0.50970, 0.49030): b leans to 0 through the prior (3/4).
    expectClose(want, [0.99057, 0.00943, 0.50970, 0.49030], 1e-5, "the hand numbers");
    const r = await new DawidSkene({ maxIter: 1 }).fit(ls);
    expect(r.iterations).toBe(1);
    expect(r.converged).toBe(false);
    expectClose(r.posteriors, want, 1e-14, "posteriors");
    expect([...r.labels]).toEqual([0, 0]);
  }, T);

  test("one spammer among good workers: DS finds the spammer and keeps the good consensus", async () => {
    // Three reliable workers always give the truth (classes 0..2 in turn); the spammer cycles regardless.
    const triples: [string, string, string][] = [];
    for (let i = 0; i < 30; i++) {
      const t = i % 3;
      for (const w of ["g1", "g2", "g3"]) triples.push([`i${i}`, w, String(t)]);
      triples.push([`i${i}`, "spam", String(Math.floor(i / 3) % 3)]);
    }
    const ls = LabelSet.fromTriples(triples, { classes: ["0", "1", "2"] });
    const truth = Array.from({ length: 30 }, (_, i) => i % 3);
    const ds = await new DawidSkene().fit(ls);
    expect([...ds.labels]).toEqual(truth);
    const diag = (w: number) => [0, 1, 2].reduce((s, c) => s + ds.confusion[w * 9 + c * 3 + c]!, 0) / 3;
    for (const g of [0, 1, 2]) expect(diag(g)).toBeGreaterThan(0.99);
    // The spammer's labels are independent of the truth: each row is near uniform (10 items per truth class, 3-4 per label).
    expect(diag(3)).toBeLessThan(0.45);
    const oc = await new OneCoinDawidSkene().fit(ls);
    expect([...oc.labels]).toEqual(truth);
    expect(oc.skills[3]).toBeLessThan(0.45);
    for (const g of [0, 1, 2]) expect(oc.skills[g]).toBeGreaterThan(0.99);
    // One-coin matrices: skill on the diagonal, the rest spread evenly.
    for (let w = 0; w < 4; w++) for (let c = 0; c < 3; c++) for (let l = 0; l < 3; l++) {
      const s = oc.skills[w]!, want = c === l ? s : (1 - s) / 2;
      expect(Math.abs(oc.confusion[w * 9 + c * 3 + l]! - Math.min(Math.max(want, Number.EPSILON), 1 - Number.EPSILON))).toBeLessThan(1e-12);
    }
  }, T);

  test("options are checked", () => {
    expect(() => new DawidSkene({ maxIter: 0 })).toThrow(LatheError);
    expect(() => new DawidSkene({ tol: -1 })).toThrow(/tol must be ≥ 0/);
    expect(() => new DawidSkene({ smoothing: Number.NaN })).toThrow(/smoothing/);
    expect(() => new OneCoinDawidSkene({ eps: 0.5 })).toThrow(/eps/);
  });
});

describe("aggregators on simulated crowds", () => {
  test("DS and one-coin DS beat majority vote on a crowd with spammers (seeded)", async () => {
    const sim = simulateCrowd({ numItems: 300, numClasses: 3, workers: { good: 4, spammer: 4, biased: 2 }, labelsPerItem: 5, seed: 3 });
    const err = async (a: { fit(l: LabelSet): Promise<{ labels: Int32Array }> }) => labelError((await a.fit(sim.labels)).labels, sim.truth);
    const mv = await err(new MajorityVote()), ds = await err(new DawidSkene()), oc = await err(new OneCoinDawidSkene()), wawa = await err(new Wawa());
    expect(ds).toBeLessThan(mv);
    expect(oc).toBeLessThan(mv);
    expect(wawa).toBeLessThanOrEqual(mv);
    // The seeded numbers, so a change in any of them is seen: MV 0.263, Wawa 0.213, DS 0.140, one-coin 0.153.
    expect([mv, wawa, ds, oc].map((e) => Math.round(e * 300))).toEqual([79, 64, 42, 46]);
  }, T);
});

const PYTHON = "/usr/bin/python3";
const REFERENCE = fileURLToPath(new URL("./testdata/ds_reference.py", import.meta.url));
const numpyMissing = ((): string | null => {
  if (!existsSync(PYTHON)) return `${PYTHON} is missing`;
  const r = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  return r.status === 0 ? null : `${PYTHON} has no numpy (${(r.stderr || "").trim().split("\n").at(-1)})`;
})();

interface Reference { posteriors: number[]; confusion: number[]; prior: number[]; iterations: number; converged: boolean }
function numpyDs(ls: LabelSet, opts: { smoothing: number; maxIter: number; tol: number }): Reference {
  const input = JSON.stringify({
    item: [...ls.item], worker: [...ls.worker], label: [...ls.label],
    numItems: ls.numItems, numWorkers: ls.numWorkers, numClasses: ls.numClasses, ...opts,
  });
  const r = spawnSync(PYTHON, [REFERENCE], { input, encoding: "utf8", maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(`ds_reference.py failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Reference;
}

describe("DawidSkene against a NumPy reference of the same algorithm", () => {
  if (numpyMissing) console.warn(`skipping the NumPy reference tests: ${numpyMissing}`);
  test.skipIf(numpyMissing !== null)(skipReason("posteriors, confusions and prior to 1e-6", numpyMissing !== null && NEEDS.numpy), async () => {
    const crowds = [
      { ls: simulateCrowd({ numItems: 120, numClasses: 3, workers: { good: 3, biased: 2, spammer: 2, adversarial: 1 }, labelsPerItem: 4, seed: 11 }).labels, opts: { smoothing: 0.01, maxIter: 100, tol: 1e-6 } },
      { ls: simulateCrowd({ numItems: 80, numClasses: 4, workers: { good: 2, biased: 3, spammer: 1 }, labelsPerItem: 3, prior: [0.4, 0.3, 0.2, 0.1], seed: 12 }).labels, opts: { smoothing: 0.5, maxIter: 20, tol: 1e-6 } },
      // Items labelled by different numbers of workers, an unlabelled item, a worker without labels.
      { ls: LabelSet.fromIndices({ item: [0, 0, 0, 1, 2, 2, 4], worker: [0, 1, 2, 1, 0, 2, 1], label: [1, 1, 0, 0, 1, 0, 1] }, { numItems: 5, numWorkers: 4, numClasses: 2 }), opts: { smoothing: 0.01, maxIter: 100, tol: 1e-9 } },
    ];
    for (const { ls, opts } of crowds) {
      const want = numpyDs(ls, opts);
      const got = await new DawidSkene(opts).fit(ls);
      expect(got.iterations).toBe(want.iterations);
      expect(got.converged).toBe(want.converged);
      expectClose(got.posteriors, want.posteriors, 1e-6, "posteriors");
      expectClose(got.confusion, want.confusion, 1e-6, "confusion");
      expectClose(got.prior, want.prior, 1e-6, "prior");
    }
  }, T);
});
