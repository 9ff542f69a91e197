"""Exports PyTorch models to ONNX with a reference input and PyTorch's output (as .npy).

Usage: /usr/bin/python3 models/onnx/export_torch.py <name> <out_dir> [--batch N] [--opset 13]
Names: resnet18, mobilenet_v2, squeezenet1_0 (torchvision, random weights from a fixed
seed), tiny_cnn (a small conv-bn-relu-pool-linear net for tests). Writes out_dir/<name>.onnx,
out_dir/<name>.input.npy and out_dir/<name>.output.npy; prints one JSON line with the paths.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch


class TinyCnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(8)
        self.conv2 = torch.nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2)
        self.pool = torch.nn.MaxPool2d(2)
        self.fc = torch.nn.Linear(16 * 4 * 4, 10)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = self.pool(torch.nn.functional.hardtanh(self.conv2(x)))
        x = torch.flatten(x, 1)
        return torch.softmax(self.fc(x), dim=1)


def build(name):
    if name == "tiny_cnn":
        return TinyCnn(), (3, 16, 16)
    import torchvision.models as tvm
    ctor = {"resnet18": tvm.resnet18, "mobilenet_v2": tvm.mobilenet_v2, "squeezenet1_0": tvm.squeezenet1_0}[name]
    return ctor(weights=None), (3, 224, 224)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("out_dir")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--opset", type=int, default=13)
    args = ap.parse_args()
    torch.manual_seed(0)
    model, shape = build(args.name)
    model.eval()
    # Non-trivial batch-norm statistics, so the exported running stats matter.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    x = torch.randn(args.batch, *shape)
    with torch.no_grad():
        y = model(x)
    os.makedirs(args.out_dir, exist_ok=True)
    base = os.path.join(args.out_dir, args.name)
    torch.onnx.export(model, x, base + ".onnx", opset_version=args.opset, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
    np.save(base + ".input.npy", x.numpy())
    np.save(base + ".output.npy", y.numpy())
    print(json.dumps({"model": base + ".onnx", "input": base + ".input.npy", "output": base + ".output.npy", "torch": torch.__version__}))


if __name__ == "__main__":
    sys.exit(main())
