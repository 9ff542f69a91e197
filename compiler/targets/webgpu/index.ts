/**
 * The webgpu target: loop IR → WGSL → Dawn compute pipelines. Kernels run asynchronously:
 * `runAsync` uploads the arguments, dispatches and reads the written ones back into the
 * caller's arrays; the synchronous `run` is refused. Whole graphs use ./graph.ts, which
 * keeps buffers on the device between kernels.
 */
import { RuntimeError, ShapeError } from "../../../core/errors.ts";
import { printWgsl } from "../../codegen/wgsl/print.ts";
import type { WgslKernel } from "../../codegen/wgsl/print.ts";
import type { Pass } from "../../tir/pass.ts";
import { flattenStorage } from "../../tir/passes/flatten.ts";
import { gpuCheckBarriers, gpuLegalize } from "../../tir/passes/gpu-launch.ts";
import { lowerIntDiv } from "../../tir/passes/lower-int-div.ts";
import { simplifyPass } from "../../tir/passes/simplify.ts";
import { threadSync } from "../../tir/passes/thread-sync.ts";
import { unroll } from "../../tir/passes/unroll.ts";
import { vectorizePass } from "../../tir/passes/vectorize.ts";
import type { PrimFunc } from "../../tir/stmt.ts";
import type { KernelArg } from "../../../runtime/native.ts";
import { shapeSize } from "../../../runtime/shape.ts";
import type { BuiltModule, Target } from "../target.ts";
import type { GpuDevice, Pipeline } from "./device.ts";
import { gpuDevice } from "./device.ts";

/** WGSL vectors hold at most four 32-bit lanes (vec4<f32>). */
const VECTOR_BYTES = 16;

/**
 * Loop-IR passes for WebGPU. No loop partitioning: a guard costs little on a GPU, and
 * partitioning would duplicate loops that contain barriers.
 */
export const webgpuPasses: readonly Pass[] = [
  gpuLegalize, flattenStorage, simplifyPass, vectorizePass(VECTOR_BYTES), unroll, simplifyPass, lowerIntDiv, threadSync, gpuCheckBarriers,
];

/** Prints and compiles kernels on the process's device. */
export async function buildKernels(device: GpuDevice, funcs: readonly PrimFunc[]): Promise<Map<string, Pipeline>> {
  const kernels: WgslKernel[] = funcs.map((f) => printWgsl(f, { f16: device.f16 }));
  const pipelines = await Promise.all(kernels.map((k) => device.pipeline(k)));
  return new Map(pipelines.map((p) => [p.kernel.name, p]));
}

/** The size-variable values of a kernel, read from its arguments' shapes. */
export function sizesOf(f: PrimFunc, shapes: readonly (readonly number[])[]): number[] {
  return f.sizeVars.map((sv) => shapes[sv.param]![sv.dim]!);
}

export const webgpuTarget: Target = {
  name: "webgpu",
  passes: webgpuPasses,
  async build(funcs) {
    const device = await gpuDevice();
    const pipelines = await buildKernels(device, funcs);
    const byName = new Map(funcs.map((f) => [f.name, f]));
    const runAsync = async (name: string, args: readonly KernelArg[]): Promise<void> => {
      const f = byName.get(name), p = pipelines.get(name);
      if (!f || !p) throw new RuntimeError(`module has no function ${name} (it has ${[...byName.keys()].join(", ")})`);
      if (args.length !== f.params.length) throw new ShapeError(`kernel ${name}: expected ${f.params.length} arguments, got ${args.length}`);
      args.forEach((a, k) => {
        const want = f.params[k]!;
        if (a.dtype !== want.dtype) throw new ShapeError(`kernel ${name}: argument ${k} (${want.name}): expected dtype ${want.dtype}, got ${a.dtype}`);
        if (a.shape.length !== want.shape.length) throw new ShapeError(`kernel ${name}: argument ${k} (${want.name}): expected ${want.shape.length} dimensions, got ${a.shape.length}`);
        if (shapeSize(a.shape) !== a.data.length) throw new ShapeError(`kernel ${name}: argument ${k} (${want.name}): shape [${a.shape.join(", ")}] does not match ${a.data.length} elements`);
      });
      const sizes = sizesOf(f, args.map((a) => a.shape));
      f.params.forEach((prm, k) => prm.shape.forEach((d, dim) => {
        const want = d.kind === "const" ? d.value : d.kind === "var" ? sizes[f.sizeVars.findIndex((s) => s.v === d)] : undefined;
        if (want !== undefined && args[k]!.shape[dim] !== want) {
          throw new ShapeError(`kernel ${name}: argument ${k} (${prm.name}) dimension ${dim} is ${args[k]!.shape[dim]}, expected ${want}`);
        }
      }));
      const buffers = args.map((a, k) => device.upload(a.dtype, a.data, `${name} argument ${k}`));
      const { group, grid } = device.bindGroup(p, buffers, sizes);
      device.submit([{ kind: "dispatch", pipeline: p, group, grid }]);
      await Promise.all(p.kernel.bindings.map((b, k) => (b.access === "read_write" ? device.read(buffers[k]!, args[k]!.data) : null)));
      for (const b of buffers) b.buffer.destroy();
    };
    const mod: BuiltModule = {
      target: "webgpu",
      source: [...pipelines.values()].map((p) => p.kernel.code).join("\n"),
      artifact: `webgpu:${device.adapterName}`,
      run: (name) => { throw new RuntimeError(`kernel ${name}: the webgpu target runs asynchronously; use runAsync`); },
      runAsync,
      setNumThreads: () => {},
    };
    return mod;
  },
};
