"""PyTorch side of `lathe bench e2e`: inference latency of a torchvision model (eval mode,
no_grad) at a batch size and thread count. Prints one JSON object.
Usage: torch_infer.py MODEL THREADS BATCH REPEATS"""
import json
import sys
import time

import torch
import torchvision.models as tvm

name, threads, batch, repeats = sys.argv[1], *map(int, sys.argv[2:5])
torch.set_num_threads(threads)
torch.manual_seed(0)
model = {"resnet18": tvm.resnet18, "mobilenet_v2": tvm.mobilenet_v2}[name](weights=None).eval()
x = torch.randn(batch, 3, 224, 224)
times = []
with torch.no_grad():
    for _ in range(2):  # warm-up
        model(x)
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(json.dumps({"median_ms": times[len(times) // 2], "torch": torch.__version__}))
