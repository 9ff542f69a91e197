"""PyTorch side of `lathe bench train`: training throughput of the same models, loss and
optimizer (cross-entropy, Adam lr 1e-3) on random data. Prints one JSON object.
Usage: torch_train.py MODEL THREADS BATCH STEPS REPEATS   (MODEL: mlp | lenet)"""
import json
import sys
import time

import torch
from torch import nn

model_name, threads, batch, steps, repeats = sys.argv[1], *map(int, sys.argv[2:6])
torch.set_num_threads(threads)
torch.manual_seed(0)

if model_name == "mlp":
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
elif model_name == "lenet":
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 10))
else:
    raise SystemExit(f"unknown model {model_name}")

x = torch.rand(batch, 1, 28, 28)
y = torch.randint(0, 10, (batch,))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()


def step():
    opt.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    opt.step()
    return loss.item()


for _ in range(steps):  # warm-up
    step()
rates = []
for _ in range(repeats):
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    rates.append(steps * batch / (time.perf_counter() - t0))
rates.sort()
print(json.dumps({"model": model_name, "threads": threads, "torch": torch.__version__,
                  "samples_per_s": rates[len(rates) // 2]}))
