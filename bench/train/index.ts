/**
 * Training throughput (samples/s, higher is better): one compiled Lathe step (forward,
 * backward, Adam update, cross-entropy) of the MLP 784-256-256-10 and the LeNet CNN at
 * batch 128, against PyTorch training the same model with the same loss and optimizer on
 * random data of the same shapes (bench/train/torch_train.py, run with Debian's
 * /usr/bin/python3 and torch.set_num_threads).
 *
 * Threads: compiled graphs run OpenMP kernels, and every graph library links the one
 * libgomp, whose thread count (omp_set_num_threads) belongs to the calling thread. The
 * step runs on Node's main thread, so calling `setNumThreads` on any compiled graph there
 * sets it for the step too; the training API does not expose its executable, so a tiny
 * graph compiled here serves as the handle.
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { Layer } from "../../train/nn/index.ts";
import { crossEntropy } from "../../train/losses.ts";
import { Adam } from "../../train/optim/index.ts";
import { compileStep } from "../../train/step.ts";
import { lenet } from "../../models/zoo/lenet.ts";
import { mlp } from "../../models/zoo/mlp.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, median } from "../lib/report.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { TORCH_THREADS_NOTE, torchEnv } from "../lib/torch-env.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./torch_train.py", import.meta.url));
const BATCH = 128;
const INSTALL = "apt-get install python3-torch";

/** PyTorch's samples/s, or null when torch cannot be imported. */
function torchRate(model: string, threads: number, steps: number, repeats: number): { rate: number; version: string } | null {
  const r = spawnSync(PYTHON, [SCRIPT, model, String(threads), String(BATCH), String(steps), String(repeats)], { encoding: "utf8", env: torchEnv(threads) });
  if (r.status !== 0) {
    if (/No module named 'torch'/.test(r.stderr ?? "") || r.error) return null;
    throw new Error(`${PYTHON} ${SCRIPT} ${model} failed (${r.status}): ${r.stderr}`);
  }
  const out = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { samples_per_s: number; torch: string };
  return { rate: out.samples_per_s, version: out.torch };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("train");
  // 5 alternating blocks per side (Lathe, then PyTorch, then the reverse order, …); a block is
  // the median of `perBlock` timed runs of `steps` steps; a side's figure is the median of its
  // blocks, with the fastest and slowest block as its spread.
  const steps = opts.quick ? 5 : 20, perBlock = opts.quick ? 1 : 3, BLOCKS = 5;
  // Any compiled graph's setNumThreads sets the main thread's OpenMP count (see above).
  const b = new GraphBuilder();
  const threadHandle = await compile(b.build([b.op1("neg", [b.input("t", [1])])]), "cpu");
  const rng = new Rng(0);
  const x = Tensor.random([BATCH, 28, 28], "f32", 1, { low: 0, high: 1 });
  const y = Tensor.fromArray(Array.from({ length: BATCH }, () => Math.floor(rng.uniform(0, 10))), [BATCH], "i32");
  const models: { name: string; torch: string; make: () => Layer }[] = [
    { name: "mlp 784-256-256-10", torch: "mlp", make: () => mlp([784, 256, 256, 10], { rng: new Rng(1) }) },
    { name: "lenet cnn", torch: "lenet", make: () => lenet({ rng: new Rng(2) }) },
  ];
  const bar: string[] = [];
  for (const m of models) {
    const step = await compileStep(m.make(), crossEntropy, new Adam({ lr: 1e-3 }), { x: { shape: [BATCH, 28, 28] }, y: { shape: [BATCH], dtype: "i32" } });
    for (const threads of [1, 2]) {
      threadHandle.setNumThreads(threads);
      const latheBlock = (): number => {
        for (let i = 0; i < steps; i++) step({ x, y }); // warm-up
        const rates: number[] = [];
        for (let r = 0; r < perBlock; r++) {
          const t0 = process.hrtime.bigint();
          for (let i = 0; i < steps; i++) step({ x, y });
          rates.push((steps * BATCH) / (Number(process.hrtime.bigint() - t0) / 1e9));
        }
        return median(rates);
      };
      const latheRates: number[] = [], torchRates: number[] = [];
      let torchVersion: string | null = null, torchMissing = false;
      for (let blk = 0; blk < BLOCKS; blk++) {
        const sides = [() => { latheRates.push(latheBlock()); }, () => {
          if (torchMissing) return;
          const t = torchRate(m.torch, threads, steps, perBlock);
          if (t === null) { torchMissing = true; return; }
          torchRates.push(t.rate);
          torchVersion = t.version;
        }];
        for (const side of blk % 2 === 0 ? sides : [...sides].reverse()) side();
      }
      const sig = (v: number) => Number(v.toPrecision(4));
      const common = {
        case: `${m.name} adam step, batch ${BATCH}`, threads, metric: "samples/s", better: "higher" as const,
        lathe: sig(median(latheRates)), latheSpread: { min: sig(Math.min(...latheRates)), max: sig(Math.max(...latheRates)) },
      };
      if (torchMissing || torchRates.length === 0) report.row({ ...common, baseline: "pytorch", baselineValue: null, install: INSTALL });
      else {
        report.note(`baseline: PyTorch ${torchVersion} (${PYTHON}), same model, cross-entropy and Adam(lr=1e-3) on random data`);
        const row = report.row({
          ...common, baseline: "pytorch", baselineValue: sig(median(torchRates)),
          baselineSpread: { min: sig(Math.min(...torchRates)), max: sig(Math.max(...torchRates)) },
        });
        if (threads === 1) bar.push(`${m.name} ${row.ratio}× (${row.ratio !== null && row.ratio >= 0.5 ? "met" : "not met"})`);
      }
    }
  }
  report.note("threads: Lathe via omp_set_num_threads on the main thread (CompiledGraph.setNumThreads)");
  report.note(TORCH_THREADS_NOTE);
  report.note(`issue bar, ≥ 0.5× PyTorch at 1 thread on both models: ${bar.length === 2 && bar.every((s) => s.endsWith("(met)")) ? "MET" : "NOT MET"} — ${bar.join("; ") || "no baseline"}`);
  return report;
}
