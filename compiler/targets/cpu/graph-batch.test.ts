// Batched compilation: many graphs in one shared library, each failing on its own.
import { describe, expect, test } from "vitest";
import { BuildError, LatheError } from "../../../core/errors.ts";
import { Rng } from "../../../runtime/random.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { buildBisecting, compileGraph, compileGraphs, compileGraphsSettled } from "./graph.ts";
import type { Graph, Value } from "../../graph/graph.ts";
import { interpret } from "../../graph/interpret.ts";

const rng = new Rng(5);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));

function mlp(): { g: Graph; inputs: Tensor[] } {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 6]);
  const w = b.constant("w", rand(6 * 4, 0.5), [6, 4]);
  const y = b.op1("softmax", [b.op1("relu", [b.op1("matmul", [x, w])])], { axis: -1 });
  return { g: b.build([y]), inputs: [new Tensor(rand(3 * 6), [3, 6], "f32")] };
}
function elementwise(): { g: Graph; inputs: Tensor[] } {
  const b = new GraphBuilder();
  const x = b.input("x", [5, 7]), y = b.input("y", [7]);
  const z = b.op1("tanh", [b.op1("mul", [b.op1("add", [x, y]), x])]);
  return { g: b.build([z, b.op1("exp", [y])]), inputs: [new Tensor(rand(35), [5, 7], "f32"), new Tensor(rand(7), [7], "f32")] };
}
function reduction(): { g: Graph; inputs: Tensor[] } {
  const b = new GraphBuilder();
  const x = b.input("x", [4, 9], "i32");
  return { g: b.build([b.op1("sum", [b.op1("mul", [x, x])], { axes: [1] })]), inputs: [Tensor.random([4, 9], "i32", 2)] };
}
/** Fails to lower: its output's size is a symbol no input binds. */
function unlowerable(): Graph {
  const x: Value = { id: 0, name: "x", type: { shape: [4], dtype: "f32" } };
  const y: Value = { id: 1, name: "y", type: { shape: ["q"], dtype: "f32" } };
  return { inputs: [x], constants: [], nodes: [{ id: 2, name: "bad_relu", op: "relu", inputs: [x], attrs: {}, outputs: [y] }], outputs: [y] };
}

function expectInterpreter(g: Graph, inputs: Tensor[], got: Tensor[]): void {
  const ref = interpret(g, inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
  expect(got.length).toBe(ref.length);
  got.forEach((t, k) => {
    expect(t.shape).toEqual(ref[k]!.shape);
    t.toArray().forEach((v, i) => expect(Math.abs(v - ref[k]!.data[i]!)).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(ref[k]!.data[i]!))));
  });
}

describe("compileGraphs", () => {
  const cases = [mlp(), elementwise(), reduction()];

  test("one library for the batch, per-graph entry points, results equal compileGraph and the interpreter", async () => {
    const batch = await compileGraphs(cases.map((c) => c.g));
    expect(new Set(batch.map((c) => c.library)).size).toBe(1);
    expect(batch.map((c) => c.entry)).toEqual(["lathe_graph_run_0", "lathe_graph_run_1", "lathe_graph_run_2"]);
    for (const [k, c] of cases.entries()) {
      const got = batch[k]!.run(c.inputs);
      expectInterpreter(c.g, c.inputs, got);
      const alone = await compileGraph(c.g);
      expect(alone.entry).toBe("lathe_graph_run");
      expect(got.map((t) => t.toArray())).toEqual(alone.run(c.inputs).map((t) => t.toArray()));
    }
    // The symbolic batch still works inside a batched library.
    const x = new Tensor(rand(9 * 6), [9, 6], "f32");
    expectInterpreter(cases[0]!.g, [x], batch[0]!.run([x]));
  }, 120_000);

  test("a graph that fails to lower fails alone; batchSize splits libraries", async () => {
    const graphs = [cases[0]!.g, unlowerable(), cases[1]!.g, cases[2]!.g];
    const settled = await compileGraphsSettled(graphs, { batchSize: 2 });
    expect(settled.map((r) => r.ok)).toEqual([true, false, true, true]);
    const bad = settled[1]!;
    if (bad.ok) throw new Error("unreachable");
    expect(bad.error).toBeInstanceOf(LatheError);
    expect(bad.error.message).toMatch(/symbolic dimension q/);
    const ok = settled.flatMap((r) => (r.ok ? [r.compiled] : []));
    // Survivors 0 and 2 share the first library, 3 gets the second.
    expect(ok[0]!.library).toBe(ok[1]!.library);
    expect(ok[2]!.library).not.toBe(ok[0]!.library);
    expect(ok[2]!.entry).toBe("lathe_graph_run_3");
    [0, 2, 3].forEach((gi, k) => expectInterpreter(graphs[gi]!, cases[[0, 1, 2][k]!]!.inputs, ok[k]!.run(cases[[0, 1, 2][k]!]!.inputs)));
    await expect(compileGraphs(graphs)).rejects.toThrow(/symbolic dimension q/);
  }, 120_000);
});

describe("buildBisecting", () => {
  test("a failing build is split until only the culprits fail", async () => {
    const calls: number[][] = [];
    const build = async (xs: readonly number[]) => {
      calls.push([...xs]);
      if (xs.includes(5) || xs.includes(11)) throw new BuildError(`bad set ${xs.join(",")}`);
      return xs.length;
    };
    const items = Array.from({ length: 16 }, (_, i) => i);
    const r = await buildBisecting(items, build);
    expect(r.map((x) => x.item)).toEqual(items);
    expect(r.filter((x) => !x.ok).map((x) => x.item)).toEqual([5, 11]);
    for (const x of r) if (!x.ok) expect(x.error.message).toBe(`bad set ${x.item}`);
    // Good items are built in the largest sets that contain no culprit.
    expect(r.find((x) => x.item === 0)).toMatchObject({ ok: true, value: 4 });
    expect(calls.length).toBeLessThan(16);
  });

  test("an error that is not a BuildError fails the whole set without splitting", async () => {
    let n = 0;
    const r = await buildBisecting([1, 2, 3], async () => { n++; throw new Error("disk full"); });
    expect(n).toBe(1);
    expect(r.every((x) => !x.ok)).toBe(true);
  });

  test("a real g++ failure in a batch falls back to the culprit alone", async () => {
    // A macro that turns graph 1's entry point into a syntax error: every library
    // that holds graph 1 fails to build, the others build.
    const graphs = cases3();
    const settled = await compileGraphsSettled(graphs, { extraFlags: ["-Dlathe_graph_run_1=1+"] });
    expect(settled.map((r) => r.ok)).toEqual([true, false, true]);
    const [a, bad, c] = settled;
    if (!a!.ok || bad!.ok || !c!.ok) throw new Error("unreachable");
    expect(bad!.error).toBeInstanceOf(BuildError);
    expect(a!.compiled.library).not.toBe(c!.compiled.library);
    expectInterpreter(graphs[0]!, mlp_inputs, a!.compiled.run(mlp_inputs));
  }, 120_000);
});

const mlpCase = mlp();
const mlp_inputs = mlpCase.inputs;
const cases3 = () => [mlpCase.g, elementwise().g, reduction().g];
