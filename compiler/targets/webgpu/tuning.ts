/**
 * Tuning on webgpu: the GPU matmul schedule's knobs (compiler/targets/webgpu/schedules.ts)
 * as a config space for the tuner (compiler/autotune/space.ts, explore.ts) — threads per
 * workgroup in y and x, outputs per thread (register tile) in y and x, the reduce slice
 * held in shared memory, unrolling — and a measurement that builds, checks and times a
 * config on the device. Knob values are restricted so every config fits the shape and the
 * device's workgroup limit.
 */
import { basename } from "node:path";
import { LatheError } from "../../../core/errors.ts";
import { bestConfigs, readLog, splitByFingerprint } from "../../autotune/log.ts";
import type { Config, TemplateSpace } from "../../autotune/space.ts";
import type { Expr } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { defineSpace } from "../../autotune/space.ts";
import { MeasurementError } from "../../autotune/measure.ts";
import { lowerFor } from "../target.ts";
import { printWgsl } from "../../codegen/wgsl/print.ts";
import { mul } from "../../te/expr.ts";
import { compute, placeholder, reduceAxis, sum } from "../../te/tensor.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import type { GpuDevice } from "./device.ts";
import { webgpuTarget } from "./index.ts";
import type { GpuScheduleConfig } from "./schedules.ts";
import { DEFAULT_GPU_CONFIG, gpuDefaultSchedule } from "./schedules.ts";

/** The schedule config a tuner config stands for (the matmul knobs over `base`'s others). */
export function gpuConfigOf(c: Config, base: GpuScheduleConfig = DEFAULT_GPU_CONFIG): GpuScheduleConfig {
  return {
    ...base,
    ty: c["ty"] as number, tx: c["tx"] as number, ry: c["ry"] as number, rx: c["rx"] as number,
    bk: c["bk"] as number, unroll: c["unroll"] === "on",
  };
}

export function webgpuMatmulSpace(M: number, N: number, K: number, maxThreads = 256): TemplateSpace {
  for (const [n, v] of [["M", M], ["N", N], ["K", K]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new LatheError(`webgpuMatmulSpace: ${n} must be a positive integer, got ${v}`);
  }
  const upTo = (cands: number[], limit: number): number[] => {
    const vs = cands.filter((c) => c <= limit);
    return vs.length > 0 ? vs : [cands[0]!];
  };
  const threads = upTo([4, 8, 16], Math.floor(Math.sqrt(maxThreads)));
  const space = defineSpace({
    knobs: {
      ty: upTo(threads, M), tx: upTo(threads, N),
      ry: upTo([1, 2, 4, 8], M), rx: upTo([1, 2, 4, 8], N),
      bk: upTo([4, 8, 16, 32], K),
      unroll: ["off", "on"],
    },
  }) as ReturnType<typeof defineSpace> & { apply?: TemplateSpace["apply"] };
  space.apply = (config: Config) => {
    space.positions(config);
    const A = placeholder([M, K], "f32", "A"), B = placeholder([K, N], "f32", "B");
    const k = reduceAxis(K, "k");
    const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const s = createSchedule(C);
    gpuDefaultSchedule(s, [C], C, gpuConfigOf(config));
    return { s, args: [A, B, C] };
  };
  return space as TemplateSpace;
}

/**
 * GFLOP/s of one config on `device` (median of `repeats` dispatches, operands resident),
 * after checking a few entries of the result against a direct computation: a wrong kernel
 * scores -Infinity, never a speed.
 */
export async function measureMatmulConfig(device: GpuDevice, space: TemplateSpace, config: Config, M: number, N: number, K: number, repeats = 3): Promise<number> {
  let p: Awaited<ReturnType<GpuDevice["pipeline"]>>;
  try {
    const { s, args } = space.apply(config);
    p = await device.pipeline(printWgsl(lowerFor(webgpuTarget, s, args, "mm_tune"), { f16: device.f16 }));
  } catch (e) {
    // A config that does not build is a failed measurement for tune(), not a bug in it.
    throw new MeasurementError(`matmul config ${JSON.stringify(config)} did not build: ${(e as Error).message}`, { cause: e });
  }
  const a = Float32Array.from({ length: M * K }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5);
  const b = Float32Array.from({ length: K * N }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5);
  const bufs = [device.upload("f32", a), device.upload("f32", b), device.alloc("f32", M * N)];
  try {
    const { group, grid } = device.bindGroup(p, bufs, []);
    const dispatch = { kind: "dispatch" as const, pipeline: p, group, grid };
    device.submit([dispatch]);
    const c = await device.read(bufs[2]!) as Float32Array;
    for (const [i, j] of [[0, 0], [M - 1, N - 1], [M >> 1, N >> 2]] as const) {
      let want = 0;
      for (let q = 0; q < K; q++) want += a[i * K + q]! * b[q * N + j]!;
      if (!(Math.abs(c[i * N + j]! - want) <= 1e-3 * (1 + Math.abs(want)))) return -Infinity;
    }
    const times: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      device.submit([dispatch]);
      await device.sync();
      times.push(performance.now() - t0);
    }
    times.sort((x, y) => x - y);
    return (2 * M * N * K) / (times[times.length >> 1]! / 1e3) / 1e9;
  } finally {
    for (const x of bufs) x.buffer.destroy();
  }
}

/** Task key → the config to compile that task's kernels with (compileGraphWebGpu's `tuned`). */
export type WebGpuTunedConfigs = ReadonlyMap<string, Config>;

/** Task keys of webgpu tasks (autotune/task.ts `taskKey` puts the target first). */
const WEBGPU_TASK = "webgpu/";

/**
 * The best config of each webgpu task in a tuning log (`lathe compile --target webgpu
 * --tuning-log`); torn lines are skipped with a warning, records of other targets' tasks
 * (cpu/…) are left out. The webgpu target has no fingerprint (no TuningTarget of its own), so,
 * as log.ts says of such targets, every webgpu record counts as current (isCurrentRecord with
 * none): there is nothing stale to report or to accept.
 */
export function loadWebGpuTunedConfigs(path: string, onWarning?: (message: string) => void): WebGpuTunedConfigs {
  const { current } = splitByFingerprint(readLog(path, { onWarning }), undefined);
  const mine = current.filter((r) => r.task.startsWith(WEBGPU_TASK));
  if (mine.length === 0 && current.length > 0) onWarning?.(`${basename(path)}: no records of webgpu tasks (${current.length} of other targets' tasks ignored)`);
  return new Map([...bestConfigs(mine)].map(([k, r]) => [k, r.config]));
}

const constValue = (e: Expr | undefined): number | null => (e?.kind === "const" ? e.value : null);

/** M, N, K of a matmul-like anchor (one reduce axis, ≥ 2 axes, static sizes), else null. */
export function matmulDims(anchor: TeTensor): [number, number, number] | null {
  if (anchor.op.kind !== "compute" || anchor.op.body.kind !== "reduce" || anchor.op.body.axes.length !== 1 || anchor.shape.length < 2) return null;
  const M = constValue(anchor.shape.at(-2)), N = constValue(anchor.shape.at(-1)), K = constValue(anchor.op.body.axes[0]!.dom.extent);
  return M === null || N === null || K === null ? null : [M, N, K];
}

/**
 * The schedule config a logged config stands for on a matmul anchor: `logged` (completed with
 * the space's defaults for knobs it lacks) when the anchor's webgpu matmul space accepts it,
 * its knobs over `base`; null when the anchor's sizes are not static or the config is not one
 * of that space's (a config of another target's or another shape's space).
 */
export function tunedMatmulConfig(anchor: TeTensor, logged: Config, base: GpuScheduleConfig): GpuScheduleConfig | null {
  const dims = matmulDims(anchor);
  if (dims === null) return null;
  const space = webgpuMatmulSpace(...dims);
  const config = space.complete(logged);
  return space.contains(config) ? gpuConfigOf(config, base) : null;
}
