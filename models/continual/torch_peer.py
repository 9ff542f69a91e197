"""PyTorch peer of `lathe experiment continual`: Naive, Replay and EWC in the same protocol.

Reads DIR/{x_train,y_train,x_test,y_test}.npy (f32 rows in [0, 1], i32 labels) and a JSON
config on stdin: {"hidden": [...], "groups": [[classes of experience 0], ...], "lr", "momentum",
"batch", "epochs", "seed", "memory", "ewc_lambda", "fisher_samples", "strategies": [...]}. Class-incremental,
one head. Replay: a class-balanced memory updated after each experience, a memory
minibatch as large as the incoming one concatenated to it. EWC: the Fisher is the mean over
minibatches of the squared gradient of the minibatch's mean loss, on fisher_samples evenly
strided rows of the experience (row floor(i*n/m); "all": every row); the penalty sums
lambda * F_e * (theta - theta_e)^2 over past experiences. One thread, so times compare
with Lathe's single-process run. Prints {"<strategy>": {"matrix": R, "seconds": [...]}}.
"""
import json
import sys
import time

import numpy as np
import torch

torch.set_num_threads(1)


def mlp(sizes):
    layers = []
    for k in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[k], sizes[k + 1]))
        if k + 2 < len(sizes):
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def accuracy(model, x, y):
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def run(name, cfg, data):
    xtr, ytr, xte, yte = data
    torch.manual_seed(cfg["seed"])
    gen = np.random.default_rng(cfg["seed"])
    model = mlp([xtr.shape[1], *cfg["hidden"], 10])
    groups = cfg["groups"]
    tests = [(xte[np.isin(yte.numpy(), g)], yte[np.isin(yte.numpy(), g)]) for g in groups]
    memory = []  # (x, y) rows
    ewc = []  # (fisher, anchor) per past experience
    matrix, seconds = [], []
    for g in groups:
        idx = np.nonzero(np.isin(ytr.numpy(), g))[0]
        x, y = xtr[idx], ytr[idx]
        opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
        t0 = time.perf_counter()
        for _ in range(cfg["epochs"]):
            order = torch.from_numpy(gen.permutation(len(idx)))
            for s in range(0, len(idx), cfg["batch"]):
                b = order[s:s + cfg["batch"]]
                xb, yb = x[b], y[b]
                if name == "replay" and memory:
                    pick = gen.choice(len(memory), size=min(len(b), len(memory)), replace=False)
                    xb = torch.cat([xb, torch.stack([memory[i][0] for i in pick])])
                    yb = torch.cat([yb, torch.stack([memory[i][1] for i in pick])])
                loss = torch.nn.functional.cross_entropy(model(xb), yb)
                if name == "ewc":
                    for fisher, anchor in ewc:
                        loss = loss + cfg["ewc_lambda"] * sum((f * (p - a) ** 2).sum() for p, f, a in zip(model.parameters(), fisher, anchor))
                opt.zero_grad()
                loss.backward()
                opt.step()
        seconds.append(time.perf_counter() - t0)
        if name == "replay":
            rows = memory + [(x[i], y[i]) for i in range(len(idx))]
            by = {}
            for r in rows:
                by.setdefault(int(r[1]), []).append(r)
            classes = sorted(by)
            quota = [cfg["memory"] // len(classes) + (1 if k < cfg["memory"] % len(classes) else 0) for k in range(len(classes))]
            memory = []
            for c, q in zip(classes, quota):
                keep = gen.permutation(len(by[c]))[:q]
                memory += [by[c][i] for i in sorted(keep)]
        if name == "ewc":
            fisher = [torch.zeros_like(p) for p in model.parameters()]
            batches = 0
            n, m = len(idx), cfg.get("fisher_samples", "all")
            m = n if m == "all" else min(m, n)
            rows = torch.tensor([i * n // m for i in range(m)])
            fx, fy = x[rows], y[rows]
            for s in range(0, m, cfg["batch"]):
                model.zero_grad()
                torch.nn.functional.cross_entropy(model(fx[s:s + cfg["batch"]]), fy[s:s + cfg["batch"]]).backward()
                for f, p in zip(fisher, model.parameters()):
                    f += p.grad.detach() ** 2
                batches += 1
            ewc.append(([f / batches for f in fisher], [p.detach().clone() for p in model.parameters()]))
        matrix.append([accuracy(model, tx, ty) for tx, ty in tests])
    return {"matrix": matrix, "seconds": seconds}


def main():
    d = sys.argv[1]
    cfg = json.load(sys.stdin)
    data = (
        torch.from_numpy(np.load(f"{d}/x_train.npy")), torch.from_numpy(np.load(f"{d}/y_train.npy").astype(np.int64)),
        torch.from_numpy(np.load(f"{d}/x_test.npy")), torch.from_numpy(np.load(f"{d}/y_test.npy").astype(np.int64)),
    )
    print(json.dumps({s: run(s, cfg, data) for s in cfg["strategies"]}))


if __name__ == "__main__":
    main()
