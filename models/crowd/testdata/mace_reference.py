"""MACE in NumPy: the reference models/crowd's MACE (mace.ts) is tested against.

Reads JSON on stdin: {"item", "worker", "label": [int], "numItems", "numWorkers",
"numClasses", "method" ("vb" or "em"), "maxIter", "tol", "alpha", "beta", "strategyPrior",
"smoothing", "theta" (start, per worker), "strategy" (start, workers x classes)}; writes
JSON on stdout: {"posteriors" (items x classes), "competence", "strategy", "logLikelihood",
"iterations", "converged"}.

The same update rules from one start, written independently with dense per-label arrays
(digamma from SciPy when present, else its own series):
  weights spam = 1 - theta, know = theta, xi = strategy
  E: P(label n | truth c) = spam[w] xi[w, l] + know[w] [l == c]; gold[i, c] = prod over i's labels / K
     q = gold normalised; L = sum_i log sum_c gold[i, c]
     e[n] = P(worker spammed on n | labels) = sum_c q[i, c] spam xi[w, l] / P(l | c)
  M: counts spam_w = sum e, know_w = sum (1 - e), strat[w, l] = sum of e over w's labels l
     vb: spam = exp(psi(spam_w + alpha) - psi(total + alpha + beta)), know likewise with beta,
         xi = exp(psi(strat + g) - psi(sum strat + K g))
     em: (counts + smoothing) normalised
  E, then (M, E) until no posterior moves more than tol or maxIter M-steps.
"""
import json
import math
import sys

import numpy as np

try:
    from scipy.special import digamma
except ImportError:  # a longer recurrence and series than the Lathe graph's
    def digamma(x):
        x = np.asarray(x, dtype=np.float64)
        acc = np.zeros_like(x)
        for j in range(12):
            acc -= 1.0 / (x + j)
        y = x + 12
        y2 = 1.0 / (y * y)
        series = y2 * (1 / 12 - y2 * (1 / 120 - y2 * (1 / 252 - y2 * (1 / 240 - y2 * (1 / 132 - y2 * 691 / 32760)))))
        return acc + np.log(y) - 0.5 / y - series


def main() -> None:
    spec = json.load(sys.stdin)
    item = np.asarray(spec["item"], dtype=np.int64)
    worker = np.asarray(spec["worker"], dtype=np.int64)
    label = np.asarray(spec["label"], dtype=np.int64)
    n_items, n_workers, k = spec["numItems"], spec["numWorkers"], spec["numClasses"]
    vb = spec["method"] == "vb"
    a0, b0, g0, smooth = spec["alpha"], spec["beta"], spec["strategyPrior"], spec["smoothing"]
    n = len(item)
    onehot = np.zeros((n, k))
    onehot[np.arange(n), label] = 1.0

    def step(spam, know, xi):
        spam_mass = spam[worker] * xi[worker, label]  # [n]
        m = spam_mass[:, None] + know[worker][:, None] * onehot  # [n, k]
        log_gold = np.full((n_items, k), -math.log(k))
        np.add.at(log_gold, item, np.log(m))
        top = log_gold.max(axis=1, keepdims=True)
        lse = top[:, 0] + np.log(np.exp(log_gold - top).sum(axis=1))
        q = np.exp(log_gold - lse[:, None])
        e = (q[item] * spam_mass[:, None] / m).sum(axis=1)
        spam_c = np.bincount(worker, e, minlength=n_workers)
        know_c = np.bincount(worker, 1.0 - e, minlength=n_workers)
        strat = np.zeros((n_workers, k))
        np.add.at(strat, (worker, label), e)
        if vb:
            tot = digamma(spam_c + know_c + a0 + b0)
            new = (np.exp(digamma(spam_c + a0) - tot), np.exp(digamma(know_c + b0) - tot),
                   np.exp(digamma(strat + g0) - digamma(strat.sum(axis=1, keepdims=True) + k * g0)))
        else:
            tot = spam_c + know_c + 2 * smooth
            new = ((spam_c + smooth) / tot, (know_c + smooth) / tot,
                   (strat + smooth) / (strat.sum(axis=1, keepdims=True) + k * smooth))
        return q, float(lse.sum()), new

    theta = np.asarray(spec["theta"], dtype=np.float64)
    weights = (1.0 - theta, theta, np.asarray(spec["strategy"], dtype=np.float64).reshape(n_workers, k))
    q, ll, new = step(*weights)
    iterations, converged = 0, False
    while True:
        if iterations == spec["maxIter"]:
            break
        weights = new
        iterations += 1
        q_new, ll, new = step(*weights)
        done = np.max(np.abs(q_new - q), initial=0.0) <= spec["tol"]
        q = q_new
        if done:
            converged = True
            break

    spam, know, xi = weights
    json.dump({
        "posteriors": q.ravel().tolist(), "competence": (know / (spam + know)).tolist(),
        "strategy": (xi / xi.sum(axis=1, keepdims=True)).ravel().tolist(), "logLikelihood": ll,
        "iterations": iterations, "converged": bool(converged),
    }, sys.stdout)


if __name__ == "__main__":
    main()
