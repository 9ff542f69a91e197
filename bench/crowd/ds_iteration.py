"""One Dawid-Skene EM iteration (E-step, then M-step) in vectorised NumPy: the baseline of
`lathe bench crowd` (bench/crowd/index.ts), run with Debian's /usr/bin/python3 and python3-numpy.

    python3 ds_iteration.py INPUT.bin SMOOTHING BLOCKS PER_BLOCK [OUT_POSTERIORS.bin]

INPUT.bin (little-endian, written by the bench): int32 [n, I, W, K], then item, worker,
label int32[n], then logConf f64[W, K, K] (logConf[w, c, l] = log P(w says l | truth c))
and logPrior f64[K].

The iteration (the same maths as models/crowd/graphs.ts, batch DS):
  E: post[i, c] = softmax_c(logPrior[c] + sum over labels (i, w, l) of logConf[w, c, l])
  M: s[w, c, l] = sum over labels (i, w, l) of post[i, c]
     logConf'[w, c, :] = log(normalise(s[w, c, :] + smoothing))  (a zero row: uniform)
     logPrior' = log(mass / sum(mass)), mass = sum_i post[i]

Index work a real EM loop does once per label set (sorting the labels by item and by
(worker, label), the segment starts) is done before timing, as Lathe's segment plan is.
Formulation (the fastest of those tried on a 2-core EPYC, 500k labels, 1 thread: row-major
fancy indexing + np.add.reduceat 330 ms, K np.bincount per step 270 ms, np.add.at slower
still; this class-major one ~100 ms): the posteriors are kept [K, I], so every gather
(np.take along axis 1) and segment sum (np.add.reduceat by item, np.bincount by (worker,
label)) runs over contiguous rows.

Timing: BLOCKS blocks of PER_BLOCK iterations after one untimed warm-up; each block's figure
is the median of its samples (time.perf_counter); prints JSON with the median of the
blocks and the fastest and slowest block in seconds, and checksums of the posteriors and
of the new logConf / logPrior. With OUT_POSTERIORS.bin, also writes the posteriors (f64
[I, K]) followed by logConf' and logPrior'.
"""
import json
import statistics
import sys
import time

import numpy as np


def load(path):
    raw = open(path, "rb").read()
    n, I, W, K = np.frombuffer(raw, dtype="<i4", count=4, offset=0).tolist()
    off = 16
    item = np.frombuffer(raw, dtype="<i4", count=n, offset=off); off += 4 * n
    worker = np.frombuffer(raw, dtype="<i4", count=n, offset=off); off += 4 * n
    label = np.frombuffer(raw, dtype="<i4", count=n, offset=off); off += 4 * n
    log_conf = np.frombuffer(raw, dtype="<f8", count=W * K * K, offset=off).reshape(W, K, K).copy(); off += 8 * W * K * K
    log_prior = np.frombuffer(raw, dtype="<f8", count=K, offset=off).copy()
    return n, I, W, K, item.astype(np.intp), worker.astype(np.intp), label.astype(np.intp), log_conf, log_prior


class Plan:
    """Per-label-set index work, done once (outside the timed region)."""

    def __init__(self, I, W, K, item, worker, label):
        self.I, self.W, self.K = I, W, K
        by_item = np.argsort(item, kind="stable")
        self.key = (worker * K + label)[by_item]  # each label's (worker, label) column, item order
        self.item = item[by_item]  # sorted
        self.items = np.unique(self.item)  # items with at least one label
        self.starts = np.searchsorted(self.item, self.items)


def iteration(p, log_conf, log_prior, smoothing):
    """Returns post [K, I] (class-major), logConf' [W, K, K] and logPrior' [K]."""
    I, W, K = p.I, p.W, p.K
    # E-step, class-major ([K, ...] rows: contiguous gathers and segment sums).
    table = log_conf.transpose(1, 0, 2).reshape(K, W * K)  # table[c, w*K + l] = logConf[w, c, l]
    rows = np.take(table, p.key, axis=1)  # [K, n]
    if p.items.size == I:
        post = np.add.reduceat(rows, p.starts, axis=1)
    else:
        post = np.zeros((K, I))
        post[:, p.items] = np.add.reduceat(rows, p.starts, axis=1)
    post += log_prior[:, None]
    post -= post.max(axis=0)
    np.exp(post, out=post)
    post /= post.sum(axis=0)
    # M-step: s[c, w*K + l] = sum over labels (i, w, l) of post[c, i].
    g = np.take(post, p.item, axis=1)  # [K, n]
    s = np.stack([np.bincount(p.key, weights=g[c], minlength=W * K) for c in range(K)])
    stats = s.reshape(K, W, K).transpose(1, 0, 2) + smoothing  # [w, c, l]
    tot = stats.sum(axis=2, keepdims=True)
    conf = np.where(tot > 0, stats / np.where(tot > 0, tot, 1.0), 1.0 / K)
    new_log_conf = np.log(conf)
    mass = post.sum(axis=1)
    new_log_prior = np.log(mass / mass.sum())
    return post, new_log_conf, new_log_prior


def checksum(x):
    """A position-weighted sum: a permutation or a wrong entry changes it."""
    flat = np.ascontiguousarray(x).reshape(-1)
    w = (np.arange(flat.size) % 7 + 1).astype(np.float64)
    return float(np.dot(flat, w))


def main():
    path, smoothing, blocks, per = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    out = sys.argv[5] if len(sys.argv) > 5 else None
    n, I, W, K, item, worker, label, log_conf, log_prior = load(path)
    p = Plan(I, W, K, item, worker, label)
    post, lc, lp = iteration(p, log_conf, log_prior, smoothing)  # warm-up, and the result
    post = post.T  # [I, K], as Lathe's
    figures = []
    for _ in range(blocks):
        samples = []
        for _ in range(per):
            t0 = time.perf_counter()
            iteration(p, log_conf, log_prior, smoothing)
            samples.append(time.perf_counter() - t0)
        figures.append(statistics.median(samples))
    if out:
        with open(out, "wb") as f:
            f.write(np.ascontiguousarray(post, dtype="<f8").tobytes())
            f.write(np.ascontiguousarray(lc, dtype="<f8").tobytes())
            f.write(np.ascontiguousarray(lp, dtype="<f8").tobytes())
    print(json.dumps({
        "median_s": statistics.median(figures) if figures else None,
        "min_s": min(figures) if figures else None,
        "max_s": max(figures) if figures else None,
        "blocks": figures,
        "checksum_post": checksum(post),
        "checksum_log_conf": checksum(lc),
        "checksum_log_prior": checksum(lp),
        "numpy": np.__version__,
        "formulation": "class-major: np.take + np.add.reduceat (E), np.take + K np.bincount (M), labels pre-sorted by item",
        "n": n, "items": I, "workers": W, "classes": K,
    }))


if __name__ == "__main__":
    main()
