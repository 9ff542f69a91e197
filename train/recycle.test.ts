/**
 * RecyclingRunner against plain `Executable.run`: the same results, run i + 2 writing into
 * run i's output buffers, and fresh outputs wherever recycling would be unsafe (an input
 * sharing memory with the buffers to write, a symbolic output shape, no `runInto`).
 * The executable is the reference interpreter with a `runInto` that copies its results,
 * so the runner's bookkeeping is checked apart from any compiler.
 */
import { describe, expect, test } from "vitest";
import type { Graph } from "../compiler/graph/graph.ts";
import { Tensor } from "../runtime/tensor.ts";
import type { Executable } from "./executable.ts";
import { interpretedExecutable } from "./executable.ts";
import { lt } from "./index.ts";
import { RecyclingRunner } from "./recycle.ts";

/** One SGD-with-momentum update: (p, v, g) → (p − 0.1 v', v' = 0.9 v + g). */
const update = lt.compile(({ p, v, g }) => { const v2 = v.mul(0.9).add(g); return [p.sub(v2.mul(0.1)), v2]; }, { p: { shape: [3] }, v: { shape: [3] }, g: { shape: [3] } });

/** The interpreter, plus a runInto that writes its results into the given outputs. */
function withRunInto(g: Graph): Executable & { runs: number } {
  const base = interpretedExecutable(g);
  const exe = {
    runs: 0,
    run(inputs: readonly Tensor[]) { exe.runs++; return base.run(inputs); },
    runInto(inputs: readonly Tensor[], outputs: readonly Tensor[]) {
      exe.runs++;
      base.run(inputs).forEach((t, k) => (outputs[k]!.data as Float32Array).set(t.data as Float32Array));
    },
  };
  return exe;
}

const f32 = (v: number[]) => Tensor.fromArray(v, [v.length], "f32");
const arr = (t: Tensor) => Array.from(t.data as Float32Array);
const grads = [[1, -2, 0.5], [0.25, 0, -1], [2, 2, 2], [-0.5, 1, 3], [0, 0, 1], [1, 1, -1]];

/** Runs the update over `grads` with `run`, feeding each run's outputs to the next. */
function loop(run: (inputs: readonly Tensor[]) => Tensor[]): { p: number[]; v: number[]; outs: Tensor[][] } {
  let p = f32([1, 2, 3]), v = f32([0, 0, 0]);
  const outs: Tensor[][] = [];
  for (const g of grads) {
    const o = run([p, v, f32(g)]);
    outs.push(o);
    [p, v] = [o[0]!, o[1]!];
  }
  return { p: arr(p), v: arr(v), outs };
}

describe("RecyclingRunner", () => {
  test("gives Executable.run's results and writes run i + 2 into run i's buffers", () => {
    const want = loop((inputs) => interpretedExecutable(update.graph).run(inputs));
    const exe = withRunInto(update.graph);
    const r = new RecyclingRunner(exe, update.graph);
    const got = loop((inputs) => r.run(inputs));
    got.p.forEach((x, i) => expect(x).toBeCloseTo(want.p[i]!, 6));
    got.v.forEach((x, i) => expect(x).toBeCloseTo(want.v[i]!, 6));
    // Runs 0 and 1 allocate; every later run reuses the set from two runs before.
    expect(r.reused).toBe(grads.length - 2);
    expect(exe.runs).toBe(grads.length);
    for (let i = 2; i < grads.length; i++) got.outs[i]!.forEach((t, k) => expect(t).toBe(got.outs[i - 2]![k]));
    expect(got.outs[1]![0]).not.toBe(got.outs[0]![0]);
  });

  test("allocates when an input shares memory with the buffers it would write", () => {
    const r = new RecyclingRunner(withRunInto(update.graph), update.graph);
    const first = r.run([f32([1, 2, 3]), f32([0, 0, 0]), f32([1, 1, 1])]);
    const kept = arr(first[0]!);
    r.run([first[0]!, first[1]!, f32([1, 1, 1])]);
    // The caller feeds run 0's outputs again: they are the spare set, so they must not be written.
    const third = r.run([first[0]!, first[1]!, f32([2, 2, 2])]);
    expect(r.reused).toBe(0);
    expect(third[0]).not.toBe(first[0]);
    expect(arr(first[0]!)).toEqual(kept);
  });

  test("never recycles without runInto or with a symbolic output shape", () => {
    const plain = new RecyclingRunner(interpretedExecutable(update.graph), update.graph);
    loop((inputs) => plain.run(inputs));
    expect(plain.reused).toBe(0);
    const byRow = lt.compile(({ x }) => x.mul(2), { x: { shape: ["n"] } });
    const r = new RecyclingRunner(withRunInto(byRow.graph), byRow.graph);
    let x = f32([1, 2]);
    for (let i = 0; i < 4; i++) x = r.run([x])[0]!;
    expect(arr(x)).toEqual([16, 32]);
    expect(r.reused).toBe(0);
  });
});
