/** Gathers a traced graph's runtime inputs, in graph-input order, from their sources. */
import { LatheError } from "../core/errors.ts";
import type { Dim } from "../compiler/graph/types.ts";
import type { Graph, Value } from "../compiler/graph/graph.ts";
import type { DType } from "../core/dtype.ts";
import { Tensor } from "../runtime/tensor.ts";
import type { Trace } from "./trace.ts";

export interface InputSpec {
  /** Dimensions; a string is symbolic (e.g. "batch"), so one compiled step serves any batch size. */
  readonly shape: readonly Dim[];
  readonly dtype?: DType;
}

export type Batch = Readonly<Record<string, Tensor>>;

/**
 * Returns a function that lists the graph's inputs for one run: data from `batch` by
 * name, parameters from their current value, the step counter, and any `extra` inputs
 * (optimizer state, learning rate) from their getters.
 */
export function feeder(g: Graph, trace: Trace, extra: ReadonlyMap<Value, () => Tensor> = new Map()):
  (batch: Batch, step: number) => Tensor[] {
  const dataNames = [...trace.sources.values()].flatMap((s) => (s.kind === "data" ? [s.name] : []));
  return (batch, step) => {
    for (const k of Object.keys(batch)) {
      if (!dataNames.includes(k)) throw new LatheError(`batch has an input "${k}" the graph does not take (inputs: ${dataNames.join(", ")})`);
    }
    return g.inputs.map((v) => {
      const get = extra.get(v);
      if (get) return get();
      const s = trace.sources.get(v);
      if (!s) throw new LatheError(`graph input ${v.name} has no source`);
      switch (s.kind) {
        case "data": {
          const t = batch[s.name];
          if (!t) throw new LatheError(`batch lacks the input "${s.name}" (${v.type.dtype}[${v.type.shape.join(", ")}])`);
          return t;
        }
        case "param": return s.param.value;
        case "step": return Tensor.fromArray([step], [], "i32");
      }
    });
  };
}
