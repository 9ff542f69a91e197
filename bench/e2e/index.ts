/**
 * Whole-model inference latency (ms, lower is better): ResNet-18 and MobileNet-v2
 * (torchvision, random weights) exported to ONNX by PyTorch, compiled by Lathe with its
 * default (untuned) schedules, against onnxruntime-node running the same ONNX file and
 * PyTorch running the original module, at batch 1 and 16, with the same thread count on
 * every side. One run; each figure is the median of 2 × repeats samples, Lathe and
 * onnxruntime timed in blocks, forward then reverse order (PyTorch runs in its own process
 * afterwards).
 *
 * Threads: Lathe's kernels use OpenMP on Node's main thread (setNumThreads); ORT gets
 * intraOpNumThreads and one inter-op thread; PyTorch torch.set_num_threads.
 *
 * Tuned rows: when a tuning log for a model and batch exists (bench tuning folder, see
 * bench/lib/tuned.ts: `e2e-<model>-b<batch>.jsonl`, written by
 * `lathe tune <model>.onnx --dim batch=<b> --log …`), the model is also compiled with it.
 */
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, timeSidesSpread, type SideTiming } from "../lib/report.ts";
import { existsSync } from "node:fs";
import { loadTunedConfigs } from "../../compiler/targets/cpu/schedules/templates.ts";
import { agreement, compileTorchModel, PYTHON, torchUnavailable } from "../../models/onnx/torch-models.ts";
import { tuningLogPath } from "../lib/tuned.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { TORCH_THREADS_NOTE, torchEnv } from "../lib/torch-env.ts";

const SCRIPT = fileURLToPath(new URL("./torch_infer.py", import.meta.url));

function torchLatency(model: string, threads: number, batch: number, repeats: number): number {
  const r = spawnSync(PYTHON, [SCRIPT, model, String(threads), String(batch), String(repeats)], { encoding: "utf8", env: torchEnv(threads) });
  if (r.status !== 0) throw new Error(`${SCRIPT} ${model} failed (${r.status}): ${r.stderr}`);
  return (JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { median_ms: number }).median_ms;
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("e2e");
  const why = torchUnavailable(true);
  if (why) throw new Error(`bench e2e exports its models with PyTorch: ${why}`);
  const models = opts.quick ? ["resnet18"] : ["resnet18", "mobilenet_v2"];
  const batches = opts.quick ? [1] : [1, 16];
  const threadCounts = opts.quick ? [1] : [1, 2];
  const repeats = opts.quick ? 3 : 5;
  const dir = join(tmpdir(), "lathe-bench-e2e");
  report.note("Lathe: default schedules; rows marked \"tuned\" compile with a tuning log (see below); models exported by PyTorch at opset 13 with random weights (seed 0)");
  report.note("outputs of Lathe checked against PyTorch's at rtol 1e-3 before timing");
  report.note(`ort: onnxruntime-node ${(ort as unknown as { env: { versions?: { common?: string } } }).env.versions?.common ?? ""}, graph optimizations all, sequential execution`);
  report.note(TORCH_THREADS_NOTE);
  for (const name of models) {
    for (const batch of batches) {
      const { compiled: plain, exported, graph } = await compileTorchModel(name, dir, batch);
      const variants = [{ label: "", compiled: plain }];
      const log = tuningLogPath(`e2e-${name}-b${batch}`);
      if (existsSync(log)) {
        variants.push({ label: " tuned", compiled: await compile(graph, "cpu", { tuned: loadTunedConfigs(log, (m) => report.note(`${log}: ${m}`)) }) });
        report.note(`${name} batch ${batch} tuned: compiled with the tuning log ${log}`);
      }
      const x = exported.input;
      for (const { label, compiled } of variants) {
        const check = agreement(compiled.run([x])[0]!, exported.output);
        if (!check.ok) report.problem(`${name} batch ${batch}${label}: Lathe's output differs from PyTorch's (max rel ${check.maxRel.toExponential(2)})`);
        for (const threads of threadCounts) {
          compiled.setNumThreads(threads);
          const session = await ort.InferenceSession.create(exported.model, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
          const feeds = { [session.inputNames[0]!]: new ort.Tensor("float32", x.data as Float32Array, [...x.shape]) };
          // Lathe and onnxruntime in 6 blocks, alternating forward and reverse order (bench/lib/timing.ts).
          const [latheT, ortT] = await timeSidesSpread([() => compiled.run([x]), () => session.run(feeds)], { repeats: 2 * repeats });
          const ms = (t: SideTiming) => ({ value: Number((t.median * 1e3).toFixed(3)), spread: { min: Number((t.min * 1e3).toFixed(3)), max: Number((t.max * 1e3).toFixed(3)) } });
          const lathe = ms(latheT!), ortMs = ms(ortT!);
          await session.release();
          const caseName = `${name} batch ${batch}${label}`;
          report.row({ case: caseName, threads, metric: "latency ms", better: "lower", lathe: lathe.value, latheSpread: lathe.spread, baseline: "onnxruntime-node", baselineValue: ortMs.value, baselineSpread: ortMs.spread });
          const torchMs = torchLatency(name, threads, batch, repeats);
          report.row({ case: caseName, threads, metric: "latency ms", better: "lower", lathe: lathe.value, latheSpread: lathe.spread, baseline: "pytorch", baselineValue: torchMs });
        }
      }
    }
  }
  // Issue 5's bar: tuned ResNet-18 at batch 1 ≥ 0.7× onnxruntime-node's speed (same threads).
  for (const r of report.rows.filter((x) => x.case === "resnet18 batch 1 tuned" && x.baseline === "onnxruntime-node")) {
    report.note(`bar (tuned ResNet-18 batch 1 ≥ 0.7× onnxruntime-node), ${r.threads} thread(s): ${r.ratio} — ${r.ratio !== null && r.ratio >= 0.7 ? "met" : "NOT met"}`);
  }
  if (!report.rows.some((x) => x.case.endsWith("tuned"))) report.note(`no tuning logs in ${tuningLogPath("e2e-*")}: only untuned rows (the tuned bar is not measured)`);
  return report;
}
