"""scikit-learn's side of `lathe experiment l2c`: KMeans told each set's true k.

Reads JSON on stdin: {"n": N, "sets": [{"x": [2N numbers], "k": K}, ...], "n_init": I, "seed": S}.
Prints one JSON line: {"labels": [[N ints], ...], "version": "..."}. One thread.
"""
import json
import sys

import numpy as np
from threadpoolctl import threadpool_limits


def main():
    cfg = json.load(sys.stdin)
    import sklearn
    from sklearn.cluster import KMeans

    out = []
    with threadpool_limits(limits=1):
        for s in cfg["sets"]:
            x = np.array(s["x"], dtype=np.float32).reshape(cfg["n"], 2)
            km = KMeans(n_clusters=s["k"], init="k-means++", n_init=cfg["n_init"], random_state=cfg["seed"])
            out.append(km.fit_predict(x).astype(int).tolist())
    print(json.dumps({"labels": out, "version": sklearn.__version__}))


if __name__ == "__main__":
    main()
