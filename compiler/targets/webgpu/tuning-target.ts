/**
 * The webgpu target for the tuner (autotune/tuning-target.ts): a template for each task whose
 * anchor is a static matmul or batch_matmul (the GPU matmul schedule's knobs, tuning.ts
 * `webgpuMatmulSpace`; an elementwise epilogue fused into the group is part of the kernel),
 * kernels lowered by the code that compiles graphs (lower-group.ts `lowerGroupGpu`, with the
 * config under the task's key), so what is measured is what `compile(g, "webgpu", { tuned })`
 * builds, and a child process (measure-worker.ts) that runs candidates on Dawn.
 */
import { fileURLToPath } from "node:url";
import { LatheError } from "../../../core/errors.ts";
import type { Config } from "../../autotune/log.ts";
import { isStatic, taskGroup, type TaskSpec } from "../../autotune/task.ts";
import type { TaskTemplate, TuningTarget } from "../../autotune/tuning-target.ts";
import type { Graph } from "../../graph/graph.ts";
import { SizeVars } from "../../graph/te-bridge.ts";
import { groupTensors } from "../../lower/group.ts";
import type { PrimFunc } from "../../tir/stmt.ts";
import { lowerGroupGpu } from "./lower-group.ts";
import { DEFAULT_GPU_CONFIG } from "./schedules.ts";
import { matmulDims, webgpuMatmulSpace } from "./tuning.ts";

/** Anchors the webgpu matmul template covers (lower-group.ts schedules them as tiled matmuls). */
const GEMM_OPS = new Set(["matmul", "batch_matmul"]);

const pow2Below = (n: number): number => 2 ** Math.floor(Math.log2(Math.max(1, n)));

/**
 * The knobs the default schedule ends up with on an M×N×K matmul, as a config: the matmul
 * schedule (schedules.ts) shrinks threads and register tiles that overhang a small M or N, and
 * the reduce slice to K, and does the same to every config, so this config builds the default
 * kernel exactly (a test compares their WGSL). Measured first when the space holds it, so
 * tuning never ends worse than the default schedule.
 */
export function defaultMatmulConfig(M: number, N: number, K: number): Config {
  const fit = (ext: number, t: number, r: number): [number, number] => {
    if (ext >= t * r) return [t, r];
    const rr = Math.min(r, pow2Below(Math.max(1, Math.floor(ext / 8))));
    return [Math.min(t, pow2Below(Math.floor(ext / rr))), rr];
  };
  const d = DEFAULT_GPU_CONFIG;
  const [ty, ry] = fit(M, d.ty, d.ry), [tx, rx] = fit(N, d.tx, d.rx);
  return { ty, tx, ry, rx, bk: Math.min(d.bk, K), unroll: d.unroll ? "on" : "off" };
}

/**
 * The task's webgpu matmul template: its space for the anchor's M, N, K, and 2·B·M·N·K FLOPs
 * (B: the batch axes' product); null for tasks without a static matmul anchor.
 */
export function webgpuTaskTemplate(t: TaskSpec): TaskTemplate | null {
  if (!isStatic(t) || t.anchor === null || !GEMM_OPS.has(t.nodes[t.anchor]!.op)) return null;
  const { anchor } = groupTensors(taskGroup(t), new SizeVars());
  const dims = anchor ? matmulDims(anchor) : null;
  if (anchor === null || dims === null) return null;
  const [M, N, K] = dims;
  const batch = (t.types[t.nodes[t.anchor]!.outputs[0]!]!.shape as number[]).slice(0, -2).reduce((a, b) => a * b, 1);
  const space = webgpuMatmulSpace(M, N, K);
  const def = defaultMatmulConfig(M, N, K);
  return { space, flops: 2 * batch * M * N * K, ...(space.contains(def) ? { defaultConfig: def } : {}) };
}

/** The task's kernel with `config` (null: the default schedule); arguments are its inputs, then outputs. */
export function lowerWebGpuTask(t: TaskSpec, config: Config | null, name = "kernel"): PrimFunc {
  const tuned = config === null ? undefined : new Map([[t.key, config]]);
  const lowered = lowerGroupGpu(taskGroup(t), name, new SizeVars(), DEFAULT_GPU_CONFIG, tuned);
  if (config !== null && !lowered.tuned) throw new LatheError(`task ${t.key}: config ${JSON.stringify(config)} is not in its webgpu matmul space`);
  return lowered.func;
}

/** The task as a graph (its inputs, nodes and outputs), for the reference interpreter. */
export function webgpuTaskGraph(t: TaskSpec): Graph {
  const g = taskGroup(t);
  return { inputs: g.inputs, constants: [], nodes: g.nodes, outputs: g.outputs };
}

/**
 * The webgpu target's templates, kernels and measuring child. No fingerprint: webgpu records
 * carry none (tuning.ts loadWebGpuTunedConfigs counts every webgpu record as current).
 */
export const webgpuTuning: TuningTarget = {
  name: "webgpu",
  template: (t) => webgpuTaskTemplate(t),
  lower: (t, config, name) => lowerWebGpuTask(t, config, name),
  measureWorker: fileURLToPath(new URL("./measure-worker.ts", import.meta.url)),
};
