/**
 * Shared by `lathe bench crowd` (index.ts) and its correctness test: a seeded crowd, one
 * Dawid–Skene EM iteration on Lathe's side (the compiled E-step and M-step graphs of
 * models/crowd/graphs.ts, inputs prepared once), and the NumPy baseline
 * (ds_iteration.py) run in a child process on the same triples and model.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { simulateCrowd, type LabelSet } from "../../models/crowd/index.ts";
import { eStep, f64Data, mStep, tensorsOf, votes, type LabelTensors } from "../../models/crowd/graphs.ts";
import type { Tensor } from "../../runtime/tensor.ts";

export const PYTHON = "/usr/bin/python3";
export const SCRIPT = fileURLToPath(new URL("./ds_iteration.py", import.meta.url));
export const INSTALL = "apt-get install python3-numpy";
/** DawidSkene's default smoothing. */
export const SMOOTHING = 0.01;

/** The environment of the NumPy side: one thread for every BLAS/OpenMP pool NumPy may use. */
export const numpyEnv = (): NodeJS.ProcessEnv =>
  ({ ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" });

/** A seeded crowd of `items` items × `workers` workers (good, biased, spammer, adversarial mix), `perItem` labels per item. */
export function crowd(items: number, workers: number, perItem: number, classes: number, seed = 7): LabelSet {
  const good = Math.round(workers * 0.6), biased = Math.round(workers * 0.2), spammer = Math.round(workers * 0.15);
  const adversarial = workers - good - biased - spammer;
  return simulateCrowd({ numItems: items, numClasses: classes, labelsPerItem: perItem, workers: { good, biased, spammer, adversarial }, seed }).labels;
}

export interface DsModel { readonly logConf: Tensor; readonly logPrior: Tensor }

/** The model EM's first iteration starts from (DawidSkene.fit: the M-step of the soft majority vote). */
export async function startModel(t: LabelTensors): Promise<DsModel> {
  const m = await mStep(t, await votes(t), SMOOTHING);
  return { logConf: m.logConf, logPrior: m.logPrior };
}

export interface IterationOut { readonly post: Tensor; readonly logConf: Tensor; readonly logPrior: Tensor }

/** One EM iteration on Lathe: E-step from `model`, then the M-step from its posteriors. */
export async function latheIteration(t: LabelTensors, model: DsModel): Promise<IterationOut> {
  const post = await eStep(t, model.logConf, model.logPrior);
  const m = await mStep(t, post, SMOOTHING);
  return { post, logConf: m.logConf, logPrior: m.logPrior };
}

/** Lathe's inputs for a label set, built once (the segment plans included), as an EM loop reuses them. */
export function prepared(ls: LabelSet): LabelTensors {
  const t = tensorsOf(ls);
  t.seg("item"); t.seg("worker"); t.seg("wl");
  return t;
}

/** Writes ds_iteration.py's input: int32 [n, I, W, K], item, worker, label, then logConf f64 [W, K, K] and logPrior f64 [K]. */
export function writeInput(path: string, ls: LabelSet, model: DsModel): void {
  const n = ls.numLabels;
  const head = Int32Array.from([n, ls.numItems, ls.numWorkers, ls.numClasses]);
  const parts = [head, Int32Array.from(ls.item), Int32Array.from(ls.worker), Int32Array.from(ls.label), f64Data(model.logConf), f64Data(model.logPrior)];
  writeFileSync(path, Buffer.concat(parts.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength))));
}

/** ds_iteration.py's checksum: Σ x[j] · (j mod 7 + 1) over the flat array. */
export function checksum(x: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) s += x[j]! * ((j % 7) + 1);
  return s;
}

export interface NumpyOut {
  readonly median_s: number | null;
  readonly min_s: number | null;
  readonly max_s: number | null;
  readonly checksum_post: number;
  readonly checksum_log_conf: number;
  readonly checksum_log_prior: number;
  readonly numpy: string;
  readonly formulation: string;
}

/** Runs ds_iteration.py; null when NumPy (or python3) is missing. `out`: where it writes its posteriors, logConf and logPrior. */
export function runNumpy(input: string, blocks: number, perBlock: number, out?: string): NumpyOut | null {
  const args = [SCRIPT, input, String(SMOOTHING), String(blocks), String(perBlock), ...(out ? [out] : [])];
  const r = spawnSync(PYTHON, args, { encoding: "utf8", env: numpyEnv(), maxBuffer: 1 << 24 });
  if (r.error || /No module named 'numpy'/.test(r.stderr ?? "")) return null;
  if (r.status !== 0) throw new Error(`${PYTHON} ${SCRIPT} failed (${r.status}): ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as NumpyOut;
}

/** Whether NumPy can be imported by /usr/bin/python3 (a reason when not). */
export function numpyMissing(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import numpy"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not found`;
  return r.status === 0 ? null : `numpy not importable by ${PYTHON} (${INSTALL})`;
}

/** |a − b| ≤ tol · max(1, |a|, |b|). */
export const close = (a: number, b: number, tol: number): boolean => Math.abs(a - b) <= tol * Math.max(1, Math.abs(a), Math.abs(b));
