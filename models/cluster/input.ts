/**
 * Reading and checking what clustering takes, for `lathe cluster` and the experiment:
 * points from a .npy (any numeric dtype, 2-D [points, features], converted to f32) or a
 * .csv (numbers only, one point per line, an optional header line of column names), true
 * labels from a .npy, and the checks that tie them together (k against the points, the
 * labels' length, a saved model's dimension). Every problem is one LatheError line naming
 * the file and the row/column, line or field.
 */
import { readFileSync, statSync } from "node:fs";
import { extname } from "node:path";
import { parse } from "csv-parse/sync";
import { LatheError } from "../../core/errors.ts";
import { decodeNpy } from "../../runtime/npy.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { ClusterModel, Points } from "./types.ts";

function readBytes(file: string): Buffer {
  let bytes: Buffer;
  try {
    if (!statSync(file).isFile()) throw new Error("not a regular file");
    bytes = readFileSync(file);
  } catch (e) {
    throw new LatheError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (bytes.length === 0) throw new LatheError(`${file}: empty file (no points)`);
  return bytes;
}

/** Points from a .npy or .csv file, by its extension. */
export function readPoints(file: string): Points {
  const ext = extname(file).toLowerCase();
  if (ext === ".npy") return pointsFromTensor(decodeNpy(readBytes(file), file), file);
  if (ext === ".csv") return pointsFromCsv(readBytes(file).toString("utf8"), file);
  throw new LatheError(`${file}: expected a .npy or .csv file`);
}

const what = (x: number): string => (Number.isNaN(x) ? "NaN" : `${x}`);

/** A 2-D numeric tensor [points, features] as f32 points; every value must be finite in f32. */
export function pointsFromTensor(t: Tensor, file: string): Points {
  if (t.shape.length !== 2) {
    throw new LatheError(`${file}: a ${t.shape.length}-D array [${t.shape.join(", ")}]; clustering takes a 2-D array [points, features]${t.shape.length === 1 ? " (reshape one feature to [n, 1])" : ""}`);
  }
  const [n, d] = t.shape as [number, number];
  if (n === 0) throw new LatheError(`${file}: no points (shape [${n}, ${d}])`);
  if (d === 0) throw new LatheError(`${file}: the points have no features (shape [${n}, ${d}])`);
  if (t.dtype === "bool") throw new LatheError(`${file}: dtype bool; clustering takes numbers`);
  // f16 holds raw bits and i64 bigints: decode those; other arrays convert directly.
  const src = t.dtype === "f32" ? (t.data as Float32Array) : Float32Array.from(t.dtype === "f16" || t.dtype === "i64" ? t.toArray() : (t.data as ArrayLike<number>));
  for (let i = 0; i < src.length; i++) {
    if (!Number.isFinite(src[i]!)) {
      const orig = t.dtype === "f32" ? src[i]! : t.toArray()[i]!;
      throw new LatheError(`${file}: row ${Math.floor(i / d)}, column ${i % d} (0-based) is ${what(orig)}${Number.isFinite(orig) ? ", beyond the f32 range" : ""}`);
    }
  }
  return { data: t.dtype === "f32" ? src.slice() : src, n, d };
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Points from CSV text: numeric fields, the same count on every line; a first line with a non-number is a header. */
export function pointsFromCsv(text: string, file: string): Points {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(text, { info: true, bom: true, trim: true, skip_empty_lines: true, relax_column_count: true }) as unknown as typeof records;
  } catch (e) {
    throw new LatheError(`${file}: ${(e as Error).message}`);
  }
  if (records.length === 0) throw new LatheError(`${file}: no points (only blank lines)`);
  const first = records[0]!.record;
  const header = first.some((f) => !NUMBER.test(f)) ? first : null;
  const rows = header ? records.slice(1) : records;
  if (rows.length === 0) throw new LatheError(`${file}: a header line but no points`);
  const d = first.length;
  const col = (c: number) => `column ${c + 1}${header ? ` (${JSON.stringify(header[c])})` : ""}`;
  const data = new Float32Array(rows.length * d);
  rows.forEach(({ record, info }, i) => {
    const line = info.lines;
    if (record.length !== d) throw new LatheError(`${file}:${line}: ${record.length} fields, expected ${d} (as on line ${records[0]!.info.lines})`);
    record.forEach((f, c) => {
      if (f === "") throw new LatheError(`${file}:${line}: ${col(c)} is empty`);
      if (/^[+-]?(nan|inf|infinity)$/i.test(f)) throw new LatheError(`${file}:${line}: ${col(c)} is ${f}, not a finite number`);
      if (!NUMBER.test(f)) throw new LatheError(`${file}:${line}: ${col(c)} is ${JSON.stringify(f)}, not a number`);
      const v = Number(f);
      if (!Number.isFinite(Math.fround(v))) throw new LatheError(`${file}:${line}: ${col(c)} is ${f}, beyond the f32 range`);
      data[i * d + c] = v;
    });
  });
  return { data, n: rows.length, d };
}

/** True class labels from a .npy: integers, shape [n] or [n, 1], one per point. */
export function readTrueLabels(file: string, n: number, pointsFile: string): Int32Array {
  if (extname(file).toLowerCase() !== ".npy") throw new LatheError(`${file}: labels must be a .npy file`);
  const t = decodeNpy(readBytes(file), file);
  if (!(t.shape.length === 1 || (t.shape.length === 2 && t.shape[1] === 1))) {
    throw new LatheError(`${file}: labels must be a vector [n] (or [n, 1]), got shape [${t.shape.join(", ")}]`);
  }
  const len = t.shape[0]!;
  if (len !== n) throw new LatheError(`${file}: ${len} labels for the ${n} points of ${pointsFile}`);
  const values = t.toArray();
  const out = new Int32Array(len);
  values.forEach((v, i) => {
    if (!Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) throw new LatheError(`${file}: label ${i} is ${what(v)}, not an integer`);
    out[i] = v;
  });
  return out;
}

/** Fitting needs at least 2 points and 1 ≤ k ≤ n. */
export function checkFitInput(points: Points, k: number, file: string): void {
  if (points.n < 2) throw new LatheError(`${file}: a single point; clustering needs at least 2`);
  if (!Number.isSafeInteger(k) || k < 1) throw new LatheError(`--k must be a positive integer, got ${k}`);
  if (k > points.n) throw new LatheError(`--k ${k} is more than the ${points.n} points in ${file}`);
}

/** A saved model labels only points of the dimension it was fitted on. */
export function checkModelFits(model: ClusterModel, points: Points, modelDir: string, file: string): void {
  if (model.d !== points.d) throw new LatheError(`${modelDir}: the model was fitted on ${model.d} features, ${file} has ${points.d}`);
}
