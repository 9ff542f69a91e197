"""scikit-learn's side of `lathe experiment cluster`: the same fits on the same features.

Usage: sklearn_fit.py RAW.npy FEATURES.npy K KMEANS_N_INIT SEEDS OUTDIR
For each seed (SEEDS: comma-separated): KMeans(k-means++, n_init=KMEANS_N_INIT) on RAW,
and GaussianMixture (diag and full; k-means initialisation, n_init 1, reg_covar 1e-6,
tol 1e-3, max_iter 100: its defaults) on FEATURES. Writes OUTDIR/<method>-<seed>.npy
(int32 labels; methods kmeans, gmm-diag, gmm-full) and prints one JSON line: fit seconds
per method and seed, and the library's version. One thread, as Lathe's side.
"""
import json
import os
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits


def main():
    raw_path, feat_path, k, n_init, seeds, out = sys.argv[1:7]
    k, n_init = int(k), int(n_init)
    seeds = [int(s) for s in seeds.split(",")]
    raw = np.load(raw_path)
    feat = np.load(feat_path)
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    times = {}
    with threadpool_limits(limits=1):
        for seed in seeds:
            fits = {
                "kmeans": lambda: KMeans(n_clusters=k, init="k-means++", n_init=n_init, random_state=seed).fit(raw).labels_,
                "gmm-diag": lambda: GaussianMixture(n_components=k, covariance_type="diag", random_state=seed).fit(feat).predict(feat),
                "gmm-full": lambda: GaussianMixture(n_components=k, covariance_type="full", random_state=seed).fit(feat).predict(feat),
            }
            for method, fit in fits.items():
                t = time.perf_counter()
                labels = fit()
                times.setdefault(method, []).append(time.perf_counter() - t)
                np.save(os.path.join(out, f"{method}-{seed}.npy"), labels.astype(np.int32))
    print(json.dumps({"fit_s": times, "sklearn": sklearn.__version__}))


if __name__ == "__main__":
    main()
