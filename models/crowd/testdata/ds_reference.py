"""Dawid-Skene by batch EM in NumPy: the reference models/crowd's DawidSkene is tested against.

Reads JSON on stdin: {"item", "worker", "label": [int], "numItems", "numWorkers",
"numClasses", "smoothing", "maxIter", "tol"}; writes JSON on stdout: {"posteriors"
(items x classes), "confusion" (workers x classes x classes), "prior", "iterations",
"converged"}.

The same algorithm, written independently with dense NumPy arrays:
  post0 = soft majority vote (uniform for an item without labels); (e, p) = M(post0)
  for t in 1..maxIter: post = E(e, p); (e, p) = M(post); stop when max|post - prev| <= tol
  E: log post[i, c] = log p[c] + sum over labels (i, w, l) of log e[w, c, l]; normalise
  M: e[w, c, l] = (smoothing + sum over labels (i, w, l) of post[i, c]) / row sum; p = mean post
"""
import json
import sys

import numpy as np


def main() -> None:
    spec = json.load(sys.stdin)
    item = np.asarray(spec["item"], dtype=np.int64)
    worker = np.asarray(spec["worker"], dtype=np.int64)
    label = np.asarray(spec["label"], dtype=np.int64)
    n_items, n_workers, k = spec["numItems"], spec["numWorkers"], spec["numClasses"]
    smoothing, max_iter, tol = spec["smoothing"], spec["maxIter"], spec["tol"]

    votes = np.zeros((n_items, k))
    np.add.at(votes, (item, label), 1.0)
    totals = votes.sum(axis=1, keepdims=True)
    post = np.where(totals > 0, votes / np.where(totals > 0, totals, 1.0), 1.0 / k)

    def m_step(post):
        counts = np.zeros((n_workers, k, k))
        for c in range(k):
            np.add.at(counts[:, c, :], (worker, label), post[item, c])
        counts += smoothing
        rows = counts.sum(axis=2, keepdims=True)
        conf = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), 1.0 / k)
        prior = post.sum(axis=0) / post.sum()
        return conf, prior

    def e_step(conf, prior):
        with np.errstate(divide="ignore"):
            log_conf, log_prior = np.log(conf), np.log(prior)
        ll = np.zeros((n_items, k))
        np.add.at(ll, item, log_conf[worker, :, label])
        ll += log_prior[None, :]
        ll -= ll.max(axis=1, keepdims=True)
        p = np.exp(ll)
        return p / p.sum(axis=1, keepdims=True)

    conf, prior = m_step(post)
    iterations, converged = 0, False
    while iterations < max_iter:
        new = e_step(conf, prior)
        iterations += 1
        conf, prior = m_step(new)
        done = np.max(np.abs(new - post), initial=0.0) <= tol
        post = new
        if done:
            converged = True
            break

    json.dump({
        "posteriors": post.ravel().tolist(), "confusion": conf.ravel().tolist(), "prior": prior.tolist(),
        "iterations": iterations, "converged": bool(converged),
    }, sys.stdout)


if __name__ == "__main__":
    main()
