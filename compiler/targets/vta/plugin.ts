/**
 * The VTA accelerator as a TargetPlugin, as far as its API fits the interface: it has no
 * loop-IR kernels to print (its layers become instruction streams, lower.ts), so it
 * registers a graph runner — quantized graphs with every qconv2d/qmatmul + requantize
 * offloaded to the simulated accelerator and the rest evaluated on the host (run.ts).
 */
import { defineTarget } from "../plugin.ts";
import { DEFAULT_PARAMS } from "./params.ts";
import { runQuantizedGraph } from "./run.ts";

export const vtaPlugin = defineTarget({
  name: "vta",
  description: "VTA-style int8 GEMM accelerator (functional simulator); runs quantized graphs, offloading qconv2d/qmatmul + requantize",
  options: { params: DEFAULT_PARAMS, vthreads: 2 },
  passes: [],
  graph: {
    run: async (g, inputs) => (await runQuantizedGraph(g, inputs, { params: DEFAULT_PARAMS, vthreads: 2 })).outputs,
  },
});
