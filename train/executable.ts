/**
 * How training runs a graph: an `Executable` takes runtime tensors in graph-input order
 * and returns runtime tensors in graph-output order. Graphs are compiled to one native
 * library by the driver (compiler/driver/compile.ts; the cpu graph compiler, whose `CompiledGraph`
 * is an Executable); LATHE_TRAIN_INTERPRET=1 runs them through the reference interpreter
 * instead (exact, slow, no C++ toolchain needed).
 */
import { ShapeError } from "../core/errors.ts";
import type { Graph } from "../compiler/graph/graph.ts";
import { interpret } from "../compiler/graph/interpret.ts";
import { deadCodeElimination } from "../compiler/graph/passes/dce.ts";
import { Tensor } from "../runtime/tensor.ts";
import { compile } from "../compiler/driver/compile.ts";

export interface Executable {
  run(inputs: readonly Tensor[]): Tensor[];
  /**
   * The same, writing into caller-owned outputs of the right shapes (native executables):
   * a training loop that recycles its output buffers allocates nothing per step.
   */
  runInto?(inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
}

/** Runs `g` through the reference interpreter (f64 inside, outputs rounded to their dtypes). */
export function interpretedExecutable(g: Graph): Executable {
  return {
    run(inputs: readonly Tensor[]): Tensor[] {
      if (inputs.length !== g.inputs.length) throw new ShapeError(`graph takes ${g.inputs.length} inputs, got ${inputs.length}`);
      const feed = inputs.map((t, k) => {
        const want = g.inputs[k]!.type.dtype;
        if (t.dtype !== want) throw new ShapeError(`input ${g.inputs[k]!.name}: expected ${want}, got a ${t.dtype} tensor`);
        // f16 holds raw bits and i64 bigints: decode those; other arrays are read as they are.
        const data = t.dtype === "f16" || t.dtype === "i64" ? t.toArray() : (t.data as ArrayLike<number>);
        return { data, shape: t.shape };
      });
      return interpret(g, feed).outputs.map((o, k) => Tensor.fromArray(o.data, o.shape, g.outputs[k]!.type.dtype));
    },
  };
}

/** "compiled": one native library per graph (compileGraph); "interpreted": the reference interpreter. */
export type ExecutorKind = "compiled" | "interpreted";

export interface ExecOptions {
  /** Default: "compiled", or "interpreted" when LATHE_TRAIN_INTERPRET=1. */
  readonly executor?: ExecutorKind;
}

export const defaultExecutor = (): ExecutorKind => (process.env.LATHE_TRAIN_INTERPRET === "1" ? "interpreted" : "compiled");

/** The executable for `g` (dead nodes dropped first; inputs and outputs keep their order). */
export async function compileExecutable(g: Graph, opts: ExecOptions = {}): Promise<Executable> {
  const live = deadCodeElimination(g);
  return (opts.executor ?? defaultExecutor()) === "interpreted" ? interpretedExecutable(live) : compile(live, "cpu");
}
