/**
 * A saved clustering model is a directory: `model.json` ({ format: "lathe-cluster",
 * version: 1, method, k, d, … the method's own fields }) and the method's arrays as .npy
 * files beside it. The arrays are written first and model.json last, each atomically, so
 * a directory whose model.json reads is complete, and a save stopped half way leaves the
 * previous model loadable. Every problem reading one is a LatheError naming the file and
 * the field.
 */
import { existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { LatheError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import type { ClusterMethod } from "./types.ts";

export const MODEL_FORMAT = "lathe-cluster";
export const MODEL_VERSION = 1;
export const MODEL_MANIFEST = "model.json";
export const CLUSTER_METHODS: readonly ClusterMethod[] = ["kmeans", "gmm", "nmm"];

export interface ModelManifest {
  readonly format: typeof MODEL_FORMAT;
  readonly version: typeof MODEL_VERSION;
  readonly method: ClusterMethod;
  readonly k: number;
  readonly d: number;
  /** The method's own fields (file names, options, fit summary). */
  readonly [field: string]: unknown;
}

/** Writes `arrays` as `<name>.npy`, then model.json, into `dir` (created if missing). */
export function writeModelDir(dir: string, manifest: { readonly method: ClusterMethod; readonly k: number; readonly d: number; readonly [field: string]: unknown }, arrays: Readonly<Record<string, Tensor>>): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LatheError(`cannot create the model directory ${dir}: ${(e as Error).message}`);
  }
  for (const [name, t] of Object.entries(arrays)) writeNpy(join(dir, `${name}.npy`), t);
  const json = { format: MODEL_FORMAT, version: MODEL_VERSION, ...manifest, arrays: Object.keys(arrays) };
  writeFileAtomic(join(dir, MODEL_MANIFEST), JSON.stringify(json, null, 2) + "\n");
}

const positiveInt = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x > 0;

/** `dir/model.json` as an object of this format and version (the fields' own checks are the caller's); errors name the file. */
export function readModelJson(dir: string): { readonly file: string; readonly m: Record<string, unknown> } {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LatheError(`${dir}: no such model directory`);
  const file = join(dir, MODEL_MANIFEST);
  if (!existsSync(file)) throw new LatheError(`${file}: missing (not a saved lathe cluster model; write one with --save)`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new LatheError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new LatheError(`${file}: expected a JSON object`);
  const m = raw as Record<string, unknown>;
  if (m["format"] !== MODEL_FORMAT) throw new LatheError(`${file}: field "format" is ${JSON.stringify(m["format"])}, expected "${MODEL_FORMAT}"`);
  if (m["version"] !== MODEL_VERSION) throw new LatheError(`${file}: field "version" is ${JSON.stringify(m["version"])}; this Lathe reads version ${MODEL_VERSION}`);
  return { file, m };
}

/** Reads and checks `dir/model.json`; with `method`, it must hold a model of that method. */
export function readModelManifest(dir: string, method?: ClusterMethod): ModelManifest {
  const { file, m } = readModelJson(dir);
  if (!CLUSTER_METHODS.includes(m["method"] as ClusterMethod)) throw new LatheError(`${file}: field "method" is ${JSON.stringify(m["method"])}, expected one of ${CLUSTER_METHODS.join(", ")}`);
  for (const f of ["k", "d"]) if (!positiveInt(m[f])) throw new LatheError(`${file}: field "${f}" must be a positive integer, got ${JSON.stringify(m[f])}`);
  if (method !== undefined && m["method"] !== method) throw new LatheError(`${file}: holds a ${String(m["method"])} model, not ${method}`);
  return m as ModelManifest;
}

/** Reads `dir/<name>.npy`, which must have this dtype and shape and hold only finite numbers. */
export function readModelArray(dir: string, name: string, dtype: DType, shape: readonly number[]): Tensor {
  const file = join(dir, `${name}.npy`);
  if (!existsSync(file)) throw new LatheError(`${file}: missing (listed by ${join(dir, MODEL_MANIFEST)})`);
  const t = readNpy(file);
  if (t.dtype !== dtype) throw new LatheError(`${file}: dtype ${t.dtype}, expected ${dtype}`);
  if (t.shape.length !== shape.length || t.shape.some((s, i) => s !== shape[i])) {
    throw new LatheError(`${file}: shape [${t.shape.join(", ")}], expected [${shape.join(", ")}] (from ${MODEL_MANIFEST})`);
  }
  const data = t.data as ArrayLike<number>;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) throw new LatheError(`${file}: element ${i} is ${data[i]}, not a finite number`);
  return t;
}
