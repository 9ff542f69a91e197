/**
 * Continual-learning metrics. R[i][j] is the accuracy on test experience j after training
 * experience i (T rows for T training experiences); b[j] the accuracy of the randomly
 * initialised model on j.
 * - ACC = mean_j R[T−1][j];
 * - forgetting of j (j < T−1) = max_{j ≤ i < T−1} R[i][j] − R[T−1][j] (the best accuracy on j
 *   after learning it, minus the last), averaged over j;
 * - BWT = mean_{j < T−1} (R[T−1][j] − R[j][j]);
 * - FWT = mean_{j ≥ 1} (R[j−1][j] − b[j]).
 * Undefined cases (one experience) give null.
 *
 * `MetricsPlugin` collects them as an evaluation plugin: the accuracy matrix, loss,
 * per-class accuracy and confusion matrix of every evaluation, wall time per training
 * experience, peak resident memory, and the model's MACs per example.
 */
import { LatheError } from "../../core/errors.ts";
import type { EvalResult, Plugin, Strategy } from "./strategy.ts";

export type Matrix = readonly (readonly number[])[];

function checkSquare(R: Matrix, what: string): number {
  const T = R.length;
  if (T === 0) throw new LatheError(`${what}: the accuracy matrix is empty`);
  R.forEach((r, i) => { if (r.length < T) throw new LatheError(`${what}: row ${i} has ${r.length} entries for ${T} experiences`); });
  return T;
}

const mean = (xs: readonly number[]): number | null => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

export function finalAccuracy(R: Matrix): number {
  if (R.length === 0) throw new LatheError("ACC: the accuracy matrix is empty");
  return mean(R.at(-1)!)!;
}

export function forgetting(R: Matrix): number | null {
  const T = checkSquare(R, "forgetting");
  return mean(Array.from({ length: T - 1 }, (_, j) => Math.max(...R.slice(j, T - 1).map((r) => r[j]!)) - R[T - 1]![j]!));
}

export function backwardTransfer(R: Matrix): number | null {
  const T = checkSquare(R, "BWT");
  return mean(Array.from({ length: T - 1 }, (_, j) => R[T - 1]![j]! - R[j]![j]!));
}

export function forwardTransfer(R: Matrix, random: readonly number[]): number | null {
  const T = checkSquare(R, "FWT");
  if (random.length < T) throw new LatheError(`FWT: ${random.length} random-model accuracies for ${T} experiences`);
  return mean(Array.from({ length: T - 1 }, (_, k) => R[k]![k + 1]! - random[k + 1]!));
}

/** confusion[t][p] = examples of true class t predicted p. */
export function confusionMatrix(y: ArrayLike<number>, pred: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  for (let i = 0; i < y.length; i++) m[y[i]!]![pred[i]!]!++;
  return m;
}

/** Accuracy per class present (null for absent classes). */
export const perClassAccuracy = (confusion: readonly (readonly number[])[]): (number | null)[] =>
  confusion.map((row, c) => { const n = row.reduce((a, b) => a + b, 0); return n ? row[c]! / n : null; });

export interface EvalRecord {
  /** Training experiences done when evaluated (0: the initial, random model). */
  readonly trained: number;
  readonly accuracy: number[];
  readonly loss: number[];
  readonly confusion: number[][];
}

export interface MetricsSummary {
  readonly matrix: number[][];
  readonly randomAccuracy: number[] | null;
  readonly finalAcc: number;
  readonly forgetting: number | null;
  readonly bwt: number | null;
  readonly fwt: number | null;
  readonly finalLoss: number;
  readonly perClass: (number | null)[];
  readonly confusion: number[][];
  readonly seconds: number[];
  readonly peakRssMb: number;
  readonly macsPerExample: number;
}

export class MetricsPlugin implements Plugin {
  readonly name = "metrics";
  readonly evals: EvalRecord[] = [];
  readonly seconds: number[] = [];
  peakRss = 0;
  private started = 0;
  private acc: number[] = [];
  private loss: number[] = [];
  private conf: number[][] | null = null;

  beforeTrainingExp(): void { this.started = performance.now(); }
  afterTrainingIteration(): void { this.peakRss = Math.max(this.peakRss, process.memoryUsage().rss); }
  afterTrainingExp(): void { this.seconds.push((performance.now() - this.started) / 1000); }
  beforeEval(s: Strategy): void {
    this.acc = []; this.loss = [];
    this.conf = Array.from({ length: s.model.classes }, () => new Array<number>(s.model.classes).fill(0));
  }
  afterEvalExp(_s: Strategy, r: EvalResult): void {
    this.acc.push(r.accuracy);
    this.loss.push(r.loss);
    const c = confusionMatrix(r.experience.y.data as Int32Array, r.predictions, this.conf!.length);
    c.forEach((row, t) => row.forEach((v, p) => (this.conf![t]![p]! += v)));
  }
  afterEval(s: Strategy): void {
    this.evals.push({ trained: s.trained, accuracy: this.acc, loss: this.loss, confusion: this.conf! });
  }

  /** The summary once the stream is done (a row per training experience; JointTraining has one row). */
  summary(s: Strategy): MetricsSummary {
    const init = this.evals.find((e) => e.trained === 0) ?? null;
    const rows = this.evals.filter((e) => e.trained > 0);
    if (rows.length === 0) throw new LatheError("continual metrics: no evaluation after training");
    const matrix = rows.map((r) => r.accuracy), last = rows.at(-1)!;
    const square = matrix.length === matrix[0]!.length;
    return {
      matrix, randomAccuracy: init?.accuracy ?? null,
      finalAcc: finalAccuracy(matrix),
      forgetting: square ? forgetting(matrix) : null,
      bwt: square ? backwardTransfer(matrix) : null,
      fwt: square && init ? forwardTransfer(matrix, init.accuracy) : null,
      finalLoss: mean(last.loss)!, perClass: perClassAccuracy(last.confusion), confusion: last.confusion,
      seconds: this.seconds, peakRssMb: this.peakRss / 2 ** 20, macsPerExample: s.model.macs,
    };
  }

  state(): unknown { return { evals: this.evals, seconds: this.seconds, peakRss: this.peakRss }; }
  load(_s: Strategy, raw: unknown): void {
    const st = raw as { evals: EvalRecord[]; seconds: number[]; peakRss: number };
    this.evals.splice(0, this.evals.length, ...st.evals);
    this.seconds.splice(0, this.seconds.length, ...st.seconds);
    this.peakRss = st.peakRss;
  }
}

