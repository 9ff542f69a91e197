/**
 * The VTA accelerator as a TargetPlugin, as far as its API fits the interface: it has no
 * loop-IR kernels to print (its layers become instruction streams, lower.ts), so it
 * registers a graph runner — quantized graphs with every qconv2d/qmatmul + requantize
 * offloaded to the simulated accelerator and the rest evaluated on the host (run.ts).
 * The driver's compile(graph, "vta") returns a module over the same runner: each run lowers
 * the offloaded layers for its inputs' shapes and simulates them.
 */
import { defineTarget } from "../plugin.ts";
import { DEFAULT_PARAMS } from "./params.ts";
import { runQuantizedGraph } from "./run.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { Graph } from "../../graph/graph.ts";

const OPTIONS = { params: DEFAULT_PARAMS, vthreads: 2 };

async function runOnVta(g: Graph, inputs: readonly { readonly data: ArrayLike<number>; readonly shape: readonly number[] }[]) {
  return (await runQuantizedGraph(g, inputs, OPTIONS)).outputs;
}

export const vtaPlugin = defineTarget({
  name: "vta",
  description: "VTA-style int8 GEMM accelerator (functional simulator); runs quantized graphs, offloading qconv2d/qmatmul + requantize",
  options: OPTIONS,
  passes: [],
  graph: { run: runOnVta },
  compileGraph: async (g) => ({
    graph: g,
    run: async (inputs: readonly Tensor[]) => {
      const outs = await runOnVta(g, inputs.map((t) => ({ data: t.toArray(), shape: t.shape })));
      return outs.map((o, k) => Tensor.fromArray(o.data, o.shape, g.outputs[k]!.type.dtype));
    },
  }),
});
