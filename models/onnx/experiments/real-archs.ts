/**
 * ResNet-18, MobileNet-v2 and SqueezeNet 1.0 (torchvision, random weights from a fixed
 * seed): exported to ONNX by PyTorch, imported and compiled by Lathe, outputs compared
 * with PyTorch's at rtol 1e-3.
 *
 *   npx tsx models/onnx/experiments/real-archs.ts [--dir /tmp/lathe-torch-models]
 */
import { tmpdir } from "node:os";
import { join } from "node:path";
import { agreement, compileTorchModel, torchUnavailable } from "../torch-models.ts";

const dirArg = process.argv.indexOf("--dir");
const dir = dirArg > 0 ? process.argv[dirArg + 1]! : join(tmpdir(), "lathe-torch-models");
const why = torchUnavailable(true);
if (why) {
  console.error(`real-archs: ${why}`);
  process.exit(2);
}
let failed = 0;
console.log("model            nodes  kernels  max |Δ|      max rel     rtol 1e-3");
for (const name of ["resnet18", "mobilenet_v2", "squeezenet1_0"]) {
  const t0 = performance.now();
  const { imported, compiled, exported } = await compileTorchModel(name, dir);
  const [y] = compiled.run([exported.input]);
  const a = agreement(y!, exported.output);
  if (!a.ok) failed++;
  console.log(`${name.padEnd(16)} ${String(imported.graph.nodes.length).padStart(5)}  ${String(compiled.groups.length).padStart(7)}  ${a.maxAbs.toExponential(2).padEnd(11)}  ${a.maxRel.toExponential(2).padEnd(10)}  ${a.ok ? "pass" : "FAIL"}   (${((performance.now() - t0) / 1000).toFixed(1)} s incl. export+compile)`);
}
process.exit(failed ? 1 : 0);
