/**
 * Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` package:
 * gzipped IDX files under /usr/share/datasets/fashion-mnist/. Images come back as f32
 * [n, 28, 28] in [0, 1], labels as i32 [n] (0–9, see FASHION_MNIST_CLASSES).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Dataset } from "./dataset.ts";
import { readIdx } from "./idx.ts";
import { pixelsToUnit } from "./normalize.ts";

export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

export const FASHION_MNIST_CLASSES = [
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
] as const;

const FILES = {
  train: ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"],
  test: ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"],
} as const;

export interface FashionMnistOptions {
  readonly split: "train" | "test";
  /** Directory of the IDX files (default: Debian's). */
  readonly dir?: string;
  /** Keep only the first `limit` examples. */
  readonly limit?: number;
}

/** The files a split needs, or the first one missing. */
export function missingFashionMnistFile(dir = FASHION_MNIST_DIR): string | null {
  for (const f of [...FILES.train, ...FILES.test]) if (!existsSync(join(dir, f))) return join(dir, f);
  return null;
}

export function loadFashionMnist(opts: FashionMnistOptions): Dataset {
  const dir = opts.dir ?? FASHION_MNIST_DIR;
  const [imgFile, lblFile] = FILES[opts.split].map((f) => join(dir, f));
  for (const f of [imgFile!, lblFile!]) {
    if (!existsSync(f)) throw new LatheError(`Fashion-MNIST file ${f} is missing: install it with \`apt-get install dataset-fashion-mnist\``);
  }
  const images = readIdx(imgFile!), labels = readIdx(lblFile!);
  if (images.dtype !== "u8" || images.ndim !== 3 || labels.dtype !== "u8" || labels.ndim !== 1 || images.shape[0] !== labels.shape[0]) {
    throw new LatheError(`Fashion-MNIST: ${imgFile} is u8[${images.shape.join(", ")}] and ${lblFile} u8[${labels.shape.join(", ")}]; expected u8[n, 28, 28] and u8[n]`);
  }
  const n = Math.min(images.shape[0]!, opts.limit ?? Infinity);
  const row = images.shape[1]! * images.shape[2]!;
  const x = pixelsToUnit(new Tensor((images.data as Uint8Array).subarray(0, n * row), [n, images.shape[1]!, images.shape[2]!], "u8"));
  const y = new Tensor(Int32Array.from((labels.data as Uint8Array).subarray(0, n)), [n], "i32");
  return { x, y };
}
