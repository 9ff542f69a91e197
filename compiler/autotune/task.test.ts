import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../graph/builder.ts";
import type { Graph, Value } from "../graph/graph.ts";
import { extractTasks, taskKey } from "./task.ts";

const zeros = (n: number) => new Float32Array(n);

/** An MLP of dense+bias+relu layers with the given widths; `prefix` sets every name. */
function mlp(widths: number[], prefix = "", batch = 8): Graph {
  const b = new GraphBuilder();
  let h: Value = b.input(prefix + "x", [batch, widths[0]!]);
  for (let i = 1; i < widths.length; i++) {
    const [m, n] = [widths[i - 1]!, widths[i]!];
    const w = b.constant(`${prefix}w${i}`, zeros(m * n), [m, n]);
    const bias = b.constant(`${prefix}b${i}`, zeros(n), [n]);
    h = b.op1("relu", [b.op1("add", [b.op1("matmul", [h, w], {}, `${prefix}mm${i}`), bias], {}, `${prefix}add${i}`)], {}, `${prefix}relu${i}`);
  }
  return b.build([b.op1("softmax", [h], { axis: -1 }, prefix + "sm")]);
}

/** Residual conv blocks relu(x + relu(conv(x) + b)), with channels C and H = W = size. */
function resnet(blocks: number, C = 4, size = 6, prefix = ""): Graph {
  const b = new GraphBuilder();
  let v: Value = b.input(prefix + "img", [2, C, size, size]);
  for (let i = 0; i < blocks; i++) {
    const c = b.op1("conv2d", [v, b.constant(`${prefix}w${i}`, zeros(C * C * 9), [C, C, 3, 3])], { pads: [1, 1, 1, 1] });
    const h = b.op1("relu", [b.op1("add", [c, b.constant(`${prefix}b${i}`, zeros(C), [C, 1, 1])])]);
    v = b.op1("relu", [b.op1("add", [h, v])]);
  }
  return b.build([b.op1("global_avg_pool2d", [v])]);
}

const opsOf = (g: Graph) => extractTasks(g).map((t) => [t.nodes.map((n) => n.op), t.weight]);

describe("tuning tasks", () => {
  test("an MLP with two identical layers gives one task of weight 2 for them", () => {
    const tasks = extractTasks(mlp([16, 16, 16]));
    expect(tasks.map((t) => [t.nodes.map((n) => n.op), t.weight])).toEqual([
      [["matmul", "add", "relu"], 2],
      [["softmax"], 1],
    ]);
    const layer = tasks[0]!;
    expect(layer.groups).toHaveLength(2);
    expect(layer.groups.map((gr) => gr.nodes[0]!.name)).toEqual(["mm1", "mm2"]);
    expect(layer.inputs.map((t) => t.shape)).toEqual([[8, 16], [16, 16], [16]]);
    expect(layer.anchor).toBe(0);
    expect(layer.target).toBe("cpu");
    expect(taskKey(layer)).toBe(layer.key);
    // A third layer of another width is a different task; the first two still share one.
    expect(opsOf(mlp([16, 16, 16, 10]))).toEqual([[["matmul", "add", "relu"], 2], [["matmul", "add", "relu"], 1], [["softmax"], 1]]);
  });

  test("a kernel in a scan body weighs its trip count, nested scans multiply, a symbolic trip count counts once", () => {
    // A step c ← relu(c·w) over a sequence xs (its element x only joins the carry in the
    // nested case), and the same layer once after the scan.
    const step = (withX: boolean, inner: number | null): Graph => {
      const body = new GraphBuilder();
      const c = body.input("c", [4, 8]), x = body.input("x", [1]), w = body.input("w", [8, 8]);
      let h: Value = c;
      if (inner !== null) {
        // The step itself scans c ← relu(c·w) `inner` times.
        const sub = new GraphBuilder();
        const sc = sub.input("c", [4, 8]), sw = sub.input("w", [8, 8]);
        [h] = body.scan(sub.build([sub.op1("relu", [sub.op1("matmul", [sc, sw])])]), { carries: [c], invariants: [w] }, { length: inner }) as [Value];
      } else {
        h = body.op1("relu", [body.op1("matmul", [c, w])]);
      }
      return body.build([withX ? body.op1("add", [h, x]) : h]);
    };
    const graph = (trips: number | string, inner: number | null): Graph => {
      const b = new GraphBuilder();
      const c0 = b.input("c0", [4, 8]), xs = b.input("xs", [trips, 1]), w = b.constant("w", zeros(64), [8, 8]);
      const [cT] = b.scan(step(inner !== null, inner), { carries: [c0], sequences: [xs], invariants: [w] });
      return b.build([b.op1("relu", [b.op1("matmul", [cT!, w])])]);
    };
    const layer = (g: Graph) => extractTasks(g).find((t) => t.nodes.map((n) => n.op).join("+") === "matmul+relu")!;
    expect(layer(graph(5, null)).weight).toBe(5 + 1);
    expect(layer(graph(5, null)).groups).toHaveLength(2);
    expect(layer(graph(3, 2)).weight).toBe(3 * 2 + 1);
    expect(layer(graph("T", null)).weight).toBe(1 + 1);
  });

  test("a ResNet-style graph merges its identical conv blocks", () => {
    const tasks = extractTasks(resnet(3));
    expect(tasks.map((t) => [t.nodes.map((n) => n.op), t.weight])).toEqual([
      [["conv2d", "add", "relu", "add", "relu"], 3],
      [["global_avg_pool2d"], 1],
    ]);
    const conv = tasks[0]!;
    expect(conv.nodes[0]!.attrs.pads).toEqual([1, 1, 1, 1]);
    // The residual add reads the block input (value 0) again: structure, not names.
    expect(conv.nodes[3]!.inputs).toEqual([conv.nodes[2]!.outputs[0], 0]);
  });

  test("keys do not depend on node or value names", () => {
    const a = extractTasks(mlp([16, 16, 16], ""));
    const b = extractTasks(mlp([16, 16, 16], "other_"));
    expect(b.map((t) => t.key)).toEqual(a.map((t) => t.key));
    expect(extractTasks(resnet(2, 4, 6, "p_")).map((t) => t.key)).toEqual(extractTasks(resnet(2, 4, 6, "q_")).map((t) => t.key));
    // Stable across calls, and the target is part of the key.
    expect(extractTasks(mlp([16, 16, 16]))[0]!.key).toBe(a[0]!.key);
    expect(extractTasks(mlp([16, 16, 16]), "wgsl")[0]!.key).not.toBe(a[0]!.key);
  });

  test("different shapes, attrs or symbolic dims give different keys", () => {
    const key = (g: Graph) => extractTasks(g)[0]!.key;
    const base = key(mlp([16, 16, 16]));
    expect(key(mlp([16, 32, 32]))).not.toBe(base);
    expect(key(mlp([16, 16, 16], "", 4))).not.toBe(base);
    expect(key(resnet(1, 4, 8))).not.toBe(key(resnet(1, 4, 6)));
    expect(key(resnet(1, 8, 6))).not.toBe(key(resnet(1, 4, 6)));
    const softmaxKey = (axis: number) => {
      const b = new GraphBuilder();
      return key(b.build([b.op1("softmax", [b.input("x", [4, 4])], { axis })]));
    };
    expect(softmaxKey(0)).not.toBe(softmaxKey(-1));
    const sym = new GraphBuilder();
    const symKey = key(sym.build([sym.op1("softmax", [sym.input("x", ["batch", 4])])]));
    const fixed = new GraphBuilder();
    expect(symKey).not.toBe(key(fixed.build([fixed.op1("softmax", [fixed.input("x", [4, 4])])])));
  });
});
