/**
 * Clustering (facts: ../shared/design/LEARNING.md, "Common ground" and "NMM"): k-means and
 * PCA as compiled Lathe graphs (kmeans.ts, pca.ts), Gaussian mixtures (gmm.ts), the input
 * readers and checks `lathe cluster` and the experiment share (input.ts), and the saved
 * model directory format (model-dir.ts). Metrics are in models/lib/cluster-metrics.ts.
 *
 *     const { fit, model } = await kmeans(points, { k: 10, seed: 0 });
 *     model.save("model/");  const again = await loadKmeans("model/").predict(points);
 */
export type { ClusterFit, ClusterMethod, ClusterModel, FitProgress, Points } from "./types.ts";
export { kmeans, loadKmeans, kmeansData, kmeansPlusPlus, lloyd, lloydIteration, KmeansModel } from "./kmeans.ts";
export type { KmeansData, KmeansOptions, LloydIteration, LloydOptions, LloydRun } from "./kmeans.ts";
export { gmm, loadGmm, GmmModel, COVARIANCE_TYPES } from "./gmm.ts";
export type { CovarianceType, GmmOptions } from "./gmm.ts";
export { pca, pcaTransform, symmetricEigen, jacobiSchedule, PCA_DEFAULTS } from "./pca.ts";
export type { PcaOptions, PcaResult } from "./pca.ts";
export { readPoints, pointsFromTensor, pointsFromCsv, readTrueLabels, checkFitInput, checkModelFits } from "./input.ts";
export { readModelManifest, readModelArray, writeModelDir, CLUSTER_METHODS, MODEL_FORMAT, MODEL_VERSION, MODEL_MANIFEST } from "./model-dir.ts";
export type { ModelManifest } from "./model-dir.ts";
