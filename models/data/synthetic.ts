/**
 * Seeded synthetic classification sets (x f32 [n, features], y i32 [n]); the same seed
 * gives the same data on every machine. Labels are interleaved (example i has class
 * i mod k), so any prefix is balanced.
 */
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Dataset } from "./dataset.ts";

function make(n: number, dim: number, point: (i: number, out: Float32Array) => number): Dataset {
  if (!Number.isInteger(n) || n <= 0) throw new LatheError(`synthetic data: n must be a positive integer, got ${n}`);
  const x = new Float32Array(n * dim), y = new Int32Array(n);
  for (let i = 0; i < n; i++) y[i] = point(i, x.subarray(i * dim, (i + 1) * dim));
  return { x: new Tensor(x, [n, dim], "f32"), y: new Tensor(y, [n], "i32") };
}

export interface BlobsOptions {
  readonly n: number;
  /** Number of classes (centers drawn uniformly in [-box, box]^dim) or the centers themselves. */
  readonly centers: number | readonly (readonly number[])[];
  readonly dim?: number;
  /** Standard deviation of each blob. */
  readonly std?: number;
  readonly box?: number;
  readonly seed?: number;
}

/** Isotropic Gaussian blobs, as scikit-learn's make_blobs. */
export function blobs(opts: BlobsOptions): Dataset {
  const rng = new Rng(opts.seed ?? 0);
  const dim = typeof opts.centers === "number" ? opts.dim ?? 2 : opts.centers[0]?.length ?? 0;
  const box = opts.box ?? 10, std = opts.std ?? 1;
  const centers = typeof opts.centers === "number"
    ? Array.from({ length: opts.centers }, () => Array.from({ length: dim }, () => rng.uniform(-box, box)))
    : opts.centers;
  if (centers.length === 0 || centers.some((c) => c.length !== dim)) throw new LatheError("blobs: centers must be a positive count or equal-length points");
  return make(opts.n, dim, (i, out) => {
    const c = i % centers.length;
    for (let d = 0; d < dim; d++) out[d] = centers[c]![d]! + std * rng.normal();
    return c;
  });
}

export interface NoiseOptions {
  readonly n: number;
  /** Standard deviation of Gaussian noise added to each coordinate. */
  readonly noise?: number;
  readonly seed?: number;
}

/** Two interleaving half circles, as scikit-learn's make_moons (class 0 outer, class 1 inner). */
export function twoMoons(opts: NoiseOptions): Dataset {
  const rng = new Rng(opts.seed ?? 0), noise = opts.noise ?? 0;
  const perClass = Math.ceil(opts.n / 2);
  return make(opts.n, 2, (i, out) => {
    const c = i % 2, t = (Math.PI * Math.floor(i / 2)) / Math.max(perClass - 1, 1);
    out[0] = (c === 0 ? Math.cos(t) : 1 - Math.cos(t)) + noise * rng.normal();
    out[1] = (c === 0 ? Math.sin(t) : 0.5 - Math.sin(t)) + noise * rng.normal();
    return c;
  });
}

export interface SpiralOptions extends NoiseOptions {
  readonly classes?: number;
  /** Turns of each arm. */
  readonly turns?: number;
}

/** Interleaved spiral arms, one per class, radius growing from 0 to 1 along each arm. */
export function spirals(opts: SpiralOptions): Dataset {
  const rng = new Rng(opts.seed ?? 0), noise = opts.noise ?? 0, k = opts.classes ?? 2, turns = opts.turns ?? 1;
  const perClass = Math.ceil(opts.n / k);
  return make(opts.n, 2, (i, out) => {
    const c = i % k, r = Math.floor(i / k) / Math.max(perClass - 1, 1);
    const angle = (2 * Math.PI * c) / k + 2 * Math.PI * turns * r;
    out[0] = r * Math.cos(angle) + noise * rng.normal();
    out[1] = r * Math.sin(angle) + noise * rng.normal();
    return c;
  });
}
