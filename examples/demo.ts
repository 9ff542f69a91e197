/**
 * Lathe's main job in one page: (1) write an operator as a tensor expression, schedule it,
 * compile it to native code and check it against the reference evaluator; (2) compile an
 * ONNX model ahead of time into an artifact, load it back (hashes verified) and check its
 * output against the one stored with the model in ONNX's own test data.
 */
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importOnnx, readTensorFile } from "../compiler/frontend/onnx/index.ts";
import { mismatch } from "../compiler/driver/onnx-conformance.ts";
import { writeArtifact } from "../compiler/targets/cpu/artifact.ts";
import { loadModule } from "../runtime/module.ts";
import { parseTE } from "../compiler/te/parse.ts";
import { createSchedule } from "../compiler/schedule/schedule.ts";
import { cacheRead, cacheWrite } from "../compiler/schedule/cache.ts";
import { build, lower } from "../compiler/driver/kernel.ts";
import { evaluate } from "../compiler/te/evaluate.ts";
import { printFunc } from "../compiler/tir/print.ts";
import { compile } from "../compiler/driver/compile.ts";

const M = 256, N = 256, K = 256;
const { inputs, outputs } = parseTE(`
input A: f32[${M}, ${K}]
input B: f32[${K}, ${N}]
C[i, j] = sum(k: ${K}, A[i, k] * B[k, j])
`, "demo.te");
const A = inputs.get("A")!, B = inputs.get("B")!, C = outputs[0]!;

// A register-tiled schedule: 8×32 tiles of C accumulated in a local buffer, B packed per column panel.
const s = createSchedule(C);
const CL = cacheWrite(s, C, "local");
const BP = cacheRead(s, B, "global", [CL]);
const c = s.stage(C);
const [io, jo, ii, ji] = c.tile(c.axis[0]!, c.axis[1]!, 8, 32);
c.reorder(jo, io, ii, ji);
c.vectorize(ji);
c.parallel(jo);
const cl = s.stage(CL);
cl.computeAt(c, io);
const [ci, cj] = cl.axis;
cl.reorder(cl.reduceAxis[0]!, ci!, cj!);
cl.unroll(ci!);
cl.vectorize(cj!);
s.stage(BP).computeAt(c, jo);

console.log("Loop IR after lowering and the cpu target's passes:\n");
console.log(printFunc(lower(s, [A, B, C], { name: "matmul" })));

const kernel = await build(s, [A, B, C], { name: "matmul" });
const a = Float32Array.from({ length: M * K }, (_, i) => Math.sin(i));
const b = Float32Array.from({ length: K * N }, (_, i) => Math.cos(i));
const out = new Float32Array(M * N);
kernel.run(a, b, out); // warm-up: the first call also starts OpenMP's threads
const times: number[] = [];
for (let r = 0; r < 20; r++) {
  const t0 = performance.now();
  kernel.run(a, b, out);
  times.push(performance.now() - t0);
}
const ms = times.sort((x, y) => x - y)[times.length >> 1]!;

const ref = evaluate([C], new Map([[A, a], [B, b]])).get(C)!;
let maxErr = 0;
for (let i = 0; i < out.length; i++) maxErr = Math.max(maxErr, Math.abs(out[i]! - ref[i]!) / (1 + Math.abs(ref[i]!)));
console.log(`native kernel: ${ms.toFixed(3)} ms, ${((2 * M * N * K) / ms / 1e6).toFixed(1)} GFLOP/s (median of 20 runs)`);
console.log(`max relative error vs the reference evaluator: ${maxErr.toExponential(2)}`);
if (maxErr > 1e-4) { console.error("MISMATCH"); process.exit(1); }
console.log("ok: the compiled kernel matches the reference");

// (2) An ONNX model (a grouped convolution exported by PyTorch, from Debian's libonnx-testdata).
const CASE = "/usr/share/libonnx-testdata/data/pytorch-converted/test_Conv2d_groups";
if (!existsSync(CASE)) {
  console.log(`\n(skipping the ONNX part: ${CASE} is missing — apt-get install libonnx-testdata)`);
  process.exit(0);
}
const model = importOnnx(`${CASE}/model.onnx`);
console.log(`\nONNX model: opset ${model.opset}, ${model.graph.nodes.length} graph nodes, inputs ${model.inputs.map((i) => `${i.name}: ${i.dtype}[${i.shape.join(", ")}]`).join(", ")}`);
const dir = join(mkdtempSync(join(tmpdir(), "lathe-demo-")), "artifact");
const manifest = await writeArtifact(await compile(model.graph, "cpu"), dir);
console.log(`artifact in ${dir}: ${manifest.library.file} (sha256 ${manifest.library.sha256.slice(0, 12)}…), ${manifest.params.file}, manifest.json`);
const mod = loadModule(dir);
const [y] = mod.run([readTensorFile(`${CASE}/test_data_set_0/input_0.pb`)]);
const bad = mismatch(y!, readTensorFile(`${CASE}/test_data_set_0/output_0.pb`));
if (bad) { console.error(`MISMATCH: ${bad}`); process.exit(1); }
console.log(`ok: the artifact's output [${y!.shape.join(", ")}] matches ONNX's stored output (rtol 1e-3)`);
