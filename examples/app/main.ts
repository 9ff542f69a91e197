/**
 * Lathe used as a library, through its public entries only:
 *   lathe          build a graph, compile it, write an ahead-of-time artifact
 *   lathe/runtime  load the artifact and run it (no compiler code is loaded for this)
 *   lathe/train    train a small model with compiled steps; compile a function with lt.compile
 *   lathe/targets  the targets a plugin would join
 * Run with `npm start` (tsx) after `npm install`; exits non-zero if a check fails.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GraphBuilder, compile, writeArtifact } from "lathe";
import { loadModule, Tensor } from "lathe/runtime";
import { lt, nn, optim, compileStep, mse } from "lathe/train";
import { listTargets } from "lathe/targets";

const check = (ok: boolean, what: string): void => {
  if (!ok) throw new Error(`check failed: ${what}`);
  console.log(`ok  ${what}`);
};
const close = (a: readonly number[], b: readonly number[], tol = 1e-5): boolean =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tol * (1 + Math.abs(b[i]!)));

// 1. A graph with a symbolic batch: y = relu(x · W), compiled for the cpu and written as an artifact.
const b = new GraphBuilder();
const x = b.input("x", ["batch", 3]);
const w = b.constant("w", Float32Array.from([1, -2, 0.5, 3, 0, -1]), [3, 2]);
const model = await compile(b.build([b.op1("relu", [b.op1("matmul", [x, w])])]), "cpu");
const input = Tensor.fromArray([1, 2, 3, -1, 0.5, 2], [2, 3], "f32");
const direct = model.run([input])[0]!.toArray();
check(close(direct, [2, 1, 0, 1.5]), "compiled graph gives relu(x·W)");

const dir = mkdtempSync(join(tmpdir(), "lathe-example-"));
try {
  await writeArtifact(model, dir);
  // 2. The artifact through the runtime alone.
  const m = loadModule(dir);
  check(close(m.run([input])[0]!.toArray(), direct), "the artifact, loaded by lathe/runtime, gives the same");
  m.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// 3. Training: fit y = 2·x0 − x1 + 0.5 with a Linear layer and SGD, one compiled step per batch.
const layer = new nn.Linear(2, 1);
const step = await compileStep(layer, (out, target) => mse(out, target), new optim.SGD({ lr: 0.1 }), {
  x: { shape: ["batch", 2] }, y: { shape: ["batch", 1] },
});
const xs = [[0, 0], [1, 0], [0, 1], [1, 1], [0.5, -0.5], [-1, 0.25]];
const batch = {
  x: Tensor.fromArray(xs.flat(), [xs.length, 2], "f32"),
  y: Tensor.fromArray(xs.map(([a, c]) => 2 * a! - c! + 0.5), [xs.length, 1], "f32"),
};
const first = step(batch);
let last = first;
for (let i = 0; i < 300; i++) last = step(batch);
check(last < first / 100, `training lowers the loss (${first.toFixed(4)} → ${last.toExponential(2)})`);

// 4. A pure function of tensors, compiled by shape with named inputs.
const softmaxRows = lt.compile(({ a }) => a.softmax(-1), { a: { shape: ["n", 3] } });
const probs = (await softmaxRows({ a: Tensor.fromArray([0, 0, 0, 1, 2, 3], [2, 3], "f32") })).toArray();
const e = [1, Math.E, Math.E ** 2], z = e[0]! + e[1]! + e[2]!;
check(close(probs, [1 / 3, 1 / 3, 1 / 3, e[0]! / z, e[1]! / z, e[2]! / z]), "lt.compile(softmax) matches the closed form");

check(listTargets().includes("cpu"), `targets registered: ${listTargets().join(", ")}`);
