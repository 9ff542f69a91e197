/**
 * What operator fusion buys: the same graphs compiled with fusion (TVM's rules) and with
 * one kernel per node, timed in alternating blocks in one run (median of 6 blocks per side,
 * with their spread). Baseline = unfused; latency, so the
 * ratio is unfused / fused (> 1: fusion is faster).
 */
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value } from "../../compiler/graph/graph.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread } from "../lib/report.ts";
import { compile } from "../../compiler/driver/compile.ts";

const rng = new Rng(5);
const rand = (n: number, s: number) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));

function resnetBlock(C: number, H: number): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", [1, C, H, H]);
  const bn = (v: Value, k: string) => b.op1("batch_norm", [v, b.constant(`${k}s`, rand(C, 1), [C]), b.constant(`${k}b`, rand(C, 0.1), [C]),
    b.constant(`${k}m`, rand(C, 0.1), [C]), b.constant(`${k}v`, Float32Array.from({ length: C }, () => 1 + rng.uniform(0, 1)), [C])]);
  const conv = (v: Value, k: string) => b.op1("conv2d", [v, b.constant(`${k}w`, rand(C * C * 9, 0.05), [C, C, 3, 3])], { pads: [1, 1, 1, 1] });
  const h = b.op1("relu", [bn(conv(x, "c1"), "n1")]);
  return b.build([b.op1("relu", [b.op1("add", [bn(conv(h, "c2"), "n2"), x])])]);
}

/** One SGD step of a 784-256-10 MLP with softmax cross-entropy: params in, loss and new params out. */
function mlpStep(batch: number): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", [batch, 784]);
  const y = b.input("y", [batch, 10]);
  const w1 = b.input("w1", [784, 256]), b1 = b.input("b1", [256]), w2 = b.input("w2", [256, 10]), b2 = b.input("b2", [10]);
  const h = b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w1]), b1])]);
  const logp = b.op1("log_softmax", [b.op1("add", [b.op1("matmul", [h, w2]), b2])], { axis: -1 });
  const loss = b.op1("neg", [b.op1("mean", [b.op1("sum", [b.op1("mul", [logp, y])], { axes: [1] })], { axes: [] })]);
  const fwd = b.build([loss]);
  const params = [w1, b1, w2, b2];
  const { graph, grads } = autodiff(fwd, loss, params);
  const bb = GraphBuilder.from(graph);
  const lr = bb.constant("lr", Float32Array.of(0.1), []);
  const updated = params.map((p, k) => bb.op1("sub", [p, bb.op1("mul", [grads[k]!, lr])]));
  return bb.build([loss, ...updated]);
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("fusion");
  const repeats = opts.quick ? 6 : 18;
  const cases: { name: string; g: Graph; inputs: Tensor[] }[] = [
    { name: opts.quick ? "resnet block C=16 28x28" : "resnet block C=64 56x56", g: resnetBlock(opts.quick ? 16 : 64, opts.quick ? 28 : 56), inputs: [] },
    { name: "mlp 784-256-10 sgd step, batch 128", g: mlpStep(128), inputs: [] },
  ];
  cases[0]!.inputs = [new Tensor(rand(cases[0]!.g.inputs[0]!.type.shape.reduce((a: number, d) => a * (d as number), 1), 1), cases[0]!.g.inputs[0]!.type.shape as number[], "f32")];
  cases[1]!.inputs = cases[1]!.g.inputs.map((v) => new Tensor(rand(v.type.shape.reduce((a: number, d) => a * (d as number), 1), 0.1), v.type.shape as number[], "f32"));
  for (const c of cases) {
    const fused = await compile(c.g, "cpu");
    const unfused = await compile(c.g, "cpu", { fuse: false });
    for (const threads of [1, 2]) {
      fused.setNumThreads(threads);
      unfused.setNumThreads(threads);
      // Alternating blocks (bench/lib/timing.ts), 6 per side: medians with the block spread.
      const [tf, tu] = await timeSidesSpread([() => fused.run(c.inputs), () => unfused.run(c.inputs)], { repeats });
      const ms = (x: number) => Number((x * 1e3).toFixed(3));
      report.row({ case: `${c.name} (${fused.groups.length} vs ${unfused.groups.length} kernels)`, threads, metric: "ms", better: "lower",
        lathe: ms(tf!.median), latheSpread: { min: ms(tf!.min), max: ms(tf!.max) },
        baseline: "lathe unfused", baselineValue: ms(tu!.median), baselineSpread: { min: ms(tu!.min), max: ms(tu!.max) } });
    }
  }
  return report;
}
