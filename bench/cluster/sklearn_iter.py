"""scikit-learn's side of `lathe bench cluster`: one Lloyd iteration and one GMM EM iteration.

Usage: sklearn_iter.py lloyd|gmm X.npy START.npy OUT.npy

Times the library's own per-iteration kernels on one thread (threadpoolctl limits every
BLAS/OpenMP pool): for k-means, sklearn.cluster._k_means_lloyd.lloyd_iter_chunked_dense
(labels, new centres, centre shifts: what KMeans.fit runs per iteration); for the full-
covariance GMM, GaussianMixture._e_step then _m_step, started from START.npy's means.
After one warm-up iteration it writes that iteration's result (new centres, or new
means) to OUT.npy for the caller to check against its own and prints a JSON line of
versions; then each stdin line "block N" times N iterations and answers a JSON line with
the seconds per iteration, so the caller can alternate its blocks with these.
"""
import json
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits


def lloyd(x, centers):
    from sklearn.cluster._k_means_lloyd import lloyd_iter_chunked_dense

    n, k = x.shape[0], centers.shape[0]
    w = np.ones(n, dtype=x.dtype)
    new = np.empty_like(centers)
    weight = np.empty(k, dtype=x.dtype)
    labels = np.empty(n, dtype=np.int32)
    shift = np.empty(k, dtype=x.dtype)

    def once():
        lloyd_iter_chunked_dense(x, w, centers, new, weight, labels, shift, 1, update_centers=True)

    return once, lambda: new


def gmm(x, means):
    from sklearn.mixture import GaussianMixture

    k = means.shape[0]
    # Started as _initialize does from hard responsibilities (each point's nearest given mean), as Lathe's emStepper.
    g = GaussianMixture(n_components=k, covariance_type="full", reg_covar=1e-6, max_iter=1, n_init=1, random_state=0)
    d2 = ((x[:, None, :] - means[None, :, :]) ** 2).sum(-1)
    resp = np.zeros((x.shape[0], k))
    resp[np.arange(x.shape[0]), d2.argmin(1)] = 1
    g._initialize(x, resp)

    def once():
        _, log_resp = g._e_step(x)
        g._m_step(x, log_resp)

    return once, lambda: g.means_


def main():
    kind, xs, cs, out = sys.argv[1:5]
    x = np.load(xs)
    c = np.load(cs)
    import sklearn

    with threadpool_limits(limits=1):
        once, result = (lloyd if kind == "lloyd" else gmm)(x, c)
        once()  # warm-up, and the result the caller checks
        np.save(out, result())
        print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__}), flush=True)
        for line in sys.stdin:
            words = line.split()
            if words[:1] != ["block"]:
                break
            n = int(words[1])
            t = time.perf_counter()
            for _ in range(n):
                once()
            print(json.dumps({"s": (time.perf_counter() - t) / n}), flush=True)

if __name__ == "__main__":
    main()
