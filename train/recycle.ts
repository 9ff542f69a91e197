/**
 * Runs a training step's executable with recycled output buffers. A step's outputs
 * (weights, optimizer slots, tracker states) replace its inputs: the outputs of run i are
 * the inputs of run i + 1, so the buffers of run i − 1's outputs are free again at run
 * i + 1 and are written in place instead of allocating, zero-filling and later
 * garbage-collecting a fresh set (megabytes) every step.
 *
 * The contract this puts on callers: a tensor returned by run i is overwritten by run
 * i + 2. Copy what must outlive that (e.g. `ContinualMlp.snapshot()`).
 *
 * Recycling applies only where it is safe: the executable writes into caller-owned
 * outputs (`runInto`, native executables), every output has a static shape, and no
 * input shares memory with the buffers about to be written (a caller may have fed an
 * old output back in); otherwise a run allocates as `Executable.run` does.
 */
import type { Graph } from "../compiler/graph/graph.ts";
import type { Tensor } from "../runtime/tensor.ts";
import type { Executable } from "./executable.ts";

export class RecyclingRunner {
  /** Outputs of the last run (live: the caller's current state). */
  private live: Tensor[] | null = null;
  /** Outputs of the run before: free to overwrite. */
  private spare: Tensor[] | null = null;
  private readonly recycles: boolean;
  /** Runs that wrote into recycled buffers (for tests and profiles). */
  reused = 0;

  constructor(private readonly exe: Executable, graph: Graph) {
    this.recycles = exe.runInto !== undefined && graph.outputs.every((v) => v.type.shape.every((d) => typeof d === "number"));
  }

  run(inputs: readonly Tensor[]): Tensor[] {
    const into = this.recycles ? this.spare : null;
    let outs: Tensor[];
    if (into && !sharesMemory(inputs, into)) {
      this.exe.runInto!(inputs, into);
      outs = into;
      this.reused++;
    } else {
      outs = this.exe.run(inputs);
    }
    this.spare = this.live;
    this.live = outs;
    return outs;
  }
}

/** Whether any input's data lies in the same ArrayBuffer as any output's. */
function sharesMemory(inputs: readonly Tensor[], outputs: readonly Tensor[]): boolean {
  const written = new Set(outputs.map((t) => t.data.buffer));
  return inputs.some((t) => written.has(t.data.buffer));
}
