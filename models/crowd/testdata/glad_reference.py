"""GLAD by EM in NumPy: the reference models/crowd's GLAD (glad.ts) is tested against.

Reads JSON on stdin: {"item", "worker", "label": [int], "numItems", "numWorkers",
"numClasses", "maxIter", "tol", "mStepIters", "mStepTol", "stepSize", "alphaPriorMean",
"betaPriorMean"}; writes JSON on stdout: {"posteriors" (items x classes), "alphas",
"betas", "objective", "iterations", "converged"}.

The same update rules, written independently with dense per-label NumPy arrays:
  a[n] = alpha[worker[n]] * exp(b[item[n]]); uniform class prior
  E: log q[i, c] = log p[c] + sum over labels of i: log sig(a) if label == c else log(1 - sig(a)) - log(K - 1)
  Q(alpha, b) = sum_n d[n] log sig(a) + (1 - d[n]) (log(1 - sig(a)) - log(K - 1))
                - (alpha - mu_a)^2 / 2 - (b - mu_b)^2 / 2,   d[n] = q[item[n], label[n]]
  M: up to mStepIters steps x += lr * grad / (diag Fisher + 1), lr = stepSize halved (at
     most 30 times) until Q does not decrease; stop when max|grad| <= mStepTol
  q0 = majority vote; alpha = mu_a, b = mu_b; repeat: M(q); q = E; stop when max|dq| <= tol
"""
import json
import sys

import numpy as np


def log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def main() -> None:
    spec = json.load(sys.stdin)
    item = np.asarray(spec["item"], dtype=np.int64)
    worker = np.asarray(spec["worker"], dtype=np.int64)
    label = np.asarray(spec["label"], dtype=np.int64)
    n_items, n_workers, k = spec["numItems"], spec["numWorkers"], spec["numClasses"]
    mu_a, mu_b = spec["alphaPriorMean"], spec["betaPriorMean"]
    log_km1 = np.log(k - 1.0)
    log_prior = np.log(np.full(k, 1.0 / k))

    votes = np.zeros((n_items, k))
    np.add.at(votes, (item, label), 1.0)
    totals = votes.sum(axis=1, keepdims=True)
    q = np.where(totals > 0, votes / np.where(totals > 0, totals, 1.0), 1.0 / k)

    def objective(q, alpha, b):
        beta = np.exp(b)[item]
        a = alpha[worker] * beta
        d = q[item, label]
        value = np.sum(d * log_sigmoid(a) + (1 - d) * (log_sigmoid(-a) - log_km1))
        value -= 0.5 * np.sum((alpha - mu_a) ** 2) + 0.5 * np.sum((b - mu_b) ** 2)
        s = 1.0 / (1.0 + np.exp(-a))
        r = d - s
        g_alpha = np.bincount(worker, r * beta, minlength=n_workers) - (alpha - mu_a)
        g_b = np.bincount(item, r * a, minlength=n_items) - (b - mu_b)
        h_alpha = np.bincount(worker, s * (1 - s) * beta ** 2, minlength=n_workers) + 1.0
        h_b = np.bincount(item, s * (1 - s) * a ** 2, minlength=n_items) + 1.0
        return value, g_alpha, g_b, g_alpha / h_alpha, g_b / h_b

    def e_step(alpha, b):
        a = alpha[worker] * np.exp(b)[item]
        right = log_sigmoid(a)
        wrong = log_sigmoid(-a) - log_km1
        ll = np.tile(log_prior, (n_items, 1))
        for c in range(k):
            np.add.at(ll[:, c], item, np.where(label == c, right, wrong))
        ll -= ll.max(axis=1, keepdims=True)
        p = np.exp(ll)
        return p / p.sum(axis=1, keepdims=True)

    alpha = np.full(n_workers, float(mu_a))
    b = np.full(n_items, float(mu_b))
    iterations, converged, value = 0, False, float("nan")
    while iterations < spec["maxIter"]:
        value, g_a, g_b, d_a, d_b = objective(q, alpha, b)
        for _ in range(spec["mStepIters"]):
            if max(np.abs(g_a).max(initial=0.0), np.abs(g_b).max(initial=0.0)) <= spec["mStepTol"]:
                break
            lr, moved = spec["stepSize"], False
            for _ in range(31):
                na, nb = alpha + lr * d_a, b + lr * d_b
                res = objective(q, na, nb)
                if res[0] >= value:
                    alpha, b = na, nb
                    value, g_a, g_b, d_a, d_b = res
                    moved = True
                    break
                lr /= 2
            if not moved:
                break
        new = e_step(alpha, b)
        iterations += 1
        done = np.max(np.abs(new - q), initial=0.0) <= spec["tol"]
        q = new
        if done:
            converged = True
            break

    json.dump({
        "posteriors": q.ravel().tolist(), "alphas": alpha.tolist(), "betas": np.exp(b).tolist(),
        "objective": float(value), "iterations": iterations, "converged": bool(converged),
    }, sys.stdout)


if __name__ == "__main__":
    main()
