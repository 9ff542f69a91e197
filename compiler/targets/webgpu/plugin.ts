/**
 * The webgpu target as a TargetPlugin: its loop-IR passes, the WGSL printer, the Dawn
 * build, the GPU default schedules, and a graph runner (whole graphs on the device).
 * Dawn is loaded only when something runs, so registering the plugin costs nothing.
 */
import { Tensor } from "../../../runtime/tensor.ts";
import { printWgsl } from "../../codegen/wgsl/print.ts";
import { defineTarget } from "../plugin.ts";
import { compileGraphWebGpu, type WebGpuGraphOptions } from "./graph.ts";
import { webgpuPasses, webgpuTarget } from "./index.ts";
import { DEFAULT_GPU_CONFIG, gpuDefaultSchedule } from "./schedules.ts";

export const webgpuPlugin = defineTarget({
  name: "webgpu",
  description: "WebGPU through Dawn (the npm webgpu package): WGSL kernels, whole graphs and training steps on the GPU (SwiftShader without one)",
  // Artifacts hold a native library; WGSL modules are built on the device at run time.
  options: { schedule: DEFAULT_GPU_CONFIG, artifact: "none" },
  passes: webgpuPasses,
  codegen: (funcs) => funcs.map((f) => printWgsl(f).code).join("\n"),
  build: (funcs, opts) => webgpuTarget.build(funcs, opts),
  schedule: (s, ctx) => gpuDefaultSchedule(s, ctx.outputs, ctx.anchorOp === "matmul" || ctx.anchorOp === "batch_matmul" ? ctx.anchor : null),
  compileGraph: (g, opts) => compileGraphWebGpu(g, opts as WebGpuGraphOptions | undefined),
  graph: {
    run: async (g, inputs) => {
      const compiled = await compileGraphWebGpu(g);
      const outs = await compiled.run(inputs.map((x, k) => Tensor.fromArray(x.data, x.shape, g.inputs[k]!.type.dtype)));
      return outs.map((t) => ({ data: Float64Array.from(t.toArray()), shape: [...t.shape] }));
    },
  },
});
