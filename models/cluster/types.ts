/**
 * What every clustering method in models/cluster shares: the points it takes, the fit it
 * returns and the fitted model the CLI saves, reloads and applies to new points.
 */

/** n points of d features, row-major f32. */
export interface Points {
  readonly data: Float32Array;
  readonly n: number;
  readonly d: number;
}

/** Called as a fit advances (the CLI draws a progress bar from it). */
export type FitProgress = (done: number, total: number, note?: string) => void;

export type ClusterMethod = "kmeans" | "gmm" | "nmm";

/** The outcome of one fit on the training points. */
export interface ClusterFit {
  /** Cluster of each point, in 0…k−1. */
  readonly labels: Int32Array;
  readonly k: number;
  /** Iterations (Lloyd/EM steps or epochs) of the run that was kept. */
  readonly iterations: number;
  readonly converged: boolean;
  /** The run's objective: inertia for k-means, mean log-likelihood per point for GMM, the EM objective for NMM. */
  readonly objective: number;
}

/** A fitted model: labels new points of the same dimension, and saves itself as a directory. */
export interface ClusterModel {
  readonly method: ClusterMethod;
  readonly k: number;
  /** Feature dimension the model was fitted on. */
  readonly d: number;
  /** Async: the models label points with compiled graphs, and lt.compile's functions are async. */
  predict(points: Points): Promise<Int32Array>;
  /** Writes `dir/model.json` ({ format: "lathe-cluster", version: 1, method, k, d, … }) and the model's files, atomically. */
  save(dir: string): void;
}
