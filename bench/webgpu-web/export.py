# Exports the models of `lathe bench webgpu-web` to ONNX (opset 13): an MLP with odd sizes,
# a small CNN, MobileNet-v2 and ResNet-18 (torchvision, 10 classes, random weights with
# batch-norm statistics drawn so the outputs are not degenerate), batch 1.
# Usage: python3 export.py OUT_DIR RES NAME...  (RES: MobileNet/ResNet input side); writes OUT_DIR/NAME.onnx.
import sys, warnings, torch
warnings.filterwarnings("ignore")
out, res, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
torch.manual_seed(0)

class CNN(torch.nn.Module):
    def __init__(s):
        super().__init__()
        s.c1 = torch.nn.Conv2d(3, 16, 3, padding=1); s.c2 = torch.nn.Conv2d(16, 32, 3, padding=1)
        s.p = torch.nn.MaxPool2d(2); s.fc = torch.nn.Linear(32 * 8 * 8, 10)
    def forward(s, x):
        x = s.p(torch.relu(s.c1(x))); x = s.p(torch.relu(s.c2(x)))
        return s.fc(torch.flatten(x, 1))

def build(name):
    if name == "mlp":
        return torch.nn.Sequential(torch.nn.Linear(784, 509), torch.nn.ReLU(), torch.nn.Linear(509, 257), torch.nn.ReLU(), torch.nn.Linear(257, 10)), (1, 784)
    if name == "cnn":
        return CNN(), (1, 3, 32, 32)
    import torchvision
    m = torchvision.models.mobilenet_v2(num_classes=10) if name == "mobilenet_v2" else torchvision.models.resnet18(num_classes=10)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
    return m, (1, 3, res, res)

for name in names:
    m, shape = build(name)
    m.eval()
    torch.onnx.export(m, (torch.randn(*shape),), f"{out}/{name}.onnx", opset_version=13, input_names=["x"], output_names=["y"])
