/** Graphs and checks shared by the target-plugin tests. */
import { expect } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { Rng } from "../../runtime/random.ts";
import type { Tensor } from "../../runtime/tensor.ts";

const rng = new Rng(5);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));

/** Two dense layers (matmul → add bias → relu, then bias + matmul → log_softmax), symbolic batch. */
export function mlp(): Graph {
  const b = new GraphBuilder();
  const x = b.input("x", ["batch", 20], "f32");
  const w1 = b.constant("w1", rand(20 * 16, 0.3), [20, 16]);
  const b1 = b.constant("b1", rand(16, 0.1), [16]);
  const w2 = b.constant("w2", rand(16 * 5, 0.3), [16, 5]);
  const b2 = b.constant("b2", rand(5, 0.1), [5]);
  const h = b.op1("relu", [b.op1("add", [b.op1("matmul", [x, w1]), b1])]);
  const y = b.op1("log_softmax", [b.op1("add", [b2, b.op1("matmul", [h, w2])])], { axis: -1 });
  return b.build([y]);
}

export function expectInterpreter(g: Graph, inputs: Tensor[], got: Tensor[], rtol = 1e-4): void {
  const ref = interpret(g, inputs.map((t) => ({ data: t.toArray(), shape: t.shape }))).outputs;
  got.forEach((t, k) => {
    expect(t.shape).toEqual(ref[k]!.shape);
    t.toArray().forEach((v, i) => {
      const r = ref[k]!.data[i]!;
      if (!(Math.abs(v - r) <= rtol * (1 + Math.abs(r)))) throw new Error(`output ${k} element ${i}: got ${v}, reference ${r}`);
    });
  });
}

