/**
 * Tuning on webgpu: the GPU matmul schedule's knobs (compiler/targets/webgpu/schedules.ts)
 * as a config space for the tuner (compiler/autotune/space.ts, explore.ts) — threads per
 * workgroup in y and x, outputs per thread (register tile) in y and x, the reduce slice
 * held in shared memory, unrolling — and a measurement that builds, checks and times a
 * config on the device. Knob values are restricted so every config fits the shape and the
 * device's workgroup limit.
 */
import { LatheError } from "../../../core/errors.ts";
import type { Config, TemplateSpace } from "../../autotune/space.ts";
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

/** The schedule config a tuner config stands for. */
export function gpuConfigOf(c: Config): GpuScheduleConfig {
  return {
    ...DEFAULT_GPU_CONFIG,
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
