/**
 * scikit-learn's bundled digits (`sklearn.datasets.load_digits`: 1797 8×8 images, pixel
 * counts 0–16, classes 0–9), read straight from the gzipped CSV the Debian/Ubuntu package
 * python3-sklearn installs, so no Python runs at load time. Each CSV row is 64 pixels and
 * the class. Images: f32 [n, 64] (or [n, 8, 8] with `shape: "images"`) in file order;
 * labels: i32 [n].
 */
import { existsSync, readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Dataset } from "./dataset.ts";

/** Where python3-sklearn puts the digits (override with LATHE_SKLEARN_DIGITS or `path`). */
export const SKLEARN_DIGITS_PATH = "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz";

const pathOf = (path?: string): string => path ?? process.env.LATHE_SKLEARN_DIGITS ?? SKLEARN_DIGITS_PATH;

/** Why the digits cannot be loaded (the file is missing), or null when they can. */
export function missingSklearnDigits(path?: string): string | null {
  const p = pathOf(path);
  return existsSync(p) ? null : `${p} is missing (install python3-sklearn, or set LATHE_SKLEARN_DIGITS)`;
}

export interface SklearnDigitsOptions {
  readonly path?: string;
  /** "flat" (default): x is [n, 64]; "images": [n, 8, 8]. */
  readonly shape?: "flat" | "images";
}

/** All 1797 digits in file order (the order load_digits returns). */
export function loadSklearnDigits(opts: SklearnDigitsOptions = {}): Dataset {
  const p = pathOf(opts.path);
  const why = missingSklearnDigits(p);
  if (why) throw new LatheError(`sklearn digits: ${why}`);
  const text = gunzipSync(readFileSync(p)).toString("utf8");
  const rows = text.split("\n").filter((l) => l.trim() !== "");
  const n = rows.length;
  const x = new Float32Array(n * 64), y = new Int32Array(n);
  rows.forEach((line, i) => {
    const cells = line.split(",");
    if (cells.length !== 65) throw new LatheError(`sklearn digits: row ${i + 1} of ${p} has ${cells.length} fields, expected 65`);
    for (let j = 0; j < 64; j++) x[i * 64 + j] = Number(cells[j]);
    const c = Number(cells[64]);
    if (!Number.isInteger(c) || c < 0 || c > 9) throw new LatheError(`sklearn digits: row ${i + 1} has class ${cells[64]}`);
    y[i] = c;
  });
  return { x: new Tensor(x, opts.shape === "images" ? [n, 8, 8] : [n, 64], "f32"), y: new Tensor(y, [n], "i32") };
}
