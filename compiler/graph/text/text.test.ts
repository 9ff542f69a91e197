import { describe, expect, test } from "vitest";
import { ParseError } from "../../../core/errors.ts";
import { GraphBuilder } from "../builder.ts";
import type { Graph } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { diffGraphs } from "./diff.ts";
import { parseGraph } from "./parse.ts";
import { printGraph } from "./print.ts";

const MLP = `
# a two-layer perceptron with a symbolic batch
graph mlp(x: f32[batch, 4]) {
  const w1: f32[4, 3]                # data from the constants option
  const b1: f32[3] = [0.5, -1, 0]    # inline data
  h = matmul(x, w1)
  hb: f32[batch, 3] = add(h, b1);    # a checked annotation, and an optional ';'
  r = relu(hb)
  s0, s1 = split(r, axis=1, sizes=[1, 2]) @sp
  return s0, s1
}`;
const W1 = Float32Array.from([1, -2, 0.5, 0, 1, 1, -1, 0.25, 2, 3, -0.5, 1]); // 4×3, row-major

/** Parses, prints, parses again: structurally identical, and printing again gives the same text. */
function roundTrip(g: Graph, constants: Record<string, Float32Array> = {}): string {
  const text = printGraph(g);
  const again = parseGraph(text, { constants });
  expect(diffGraphs(g, again), text).toBeNull();
  expect(printGraph(again)).toBe(text);
  return text;
}

describe("graph text: parse", () => {
  test("the MLP computes relu(x·w1 + b1), split 1 | 2 (checked against a hand-written loop)", () => {
    const g = parseGraph(MLP, { constants: { w1: W1 } });
    expect(g.inputs.map((v) => v.name)).toEqual(["x"]);
    expect(g.nodes.map((n) => `${n.name}:${n.op}`)).toEqual(["h:matmul", "hb:add", "r:relu", "sp:split"]);
    expect(g.nodes[3]!.outputs.map((o) => o.type)).toEqual([{ shape: ["batch", 1], dtype: "f32" }, { shape: ["batch", 2], dtype: "f32" }]);
    expect(g.nodes[3]!.attrs).toEqual({ axis: 1, sizes: [1, 2] });
    expect(g.outputs.map((v) => v.name)).toEqual(["s0", "s1"]);

    const x = [0.5, -1, 2, 1, -3, 0.25, 1, -2];
    const [s0, s1] = interpret(g, [{ data: x, shape: [2, 4] }]).outputs;
    const b1 = [0.5, -1, 0];
    for (let i = 0; i < 2; i++) {
      const row = [0, 1, 2].map((j) => Math.max(0, [0, 1, 2, 3].reduce((s, k) => s + x[i * 4 + k]! * W1[k * 3 + j]!, 0) + b1[j]!));
      expect(s0!.data[i]).toBeCloseTo(row[0]!, 5);
      expect([s1!.data[2 * i], s1!.data[2 * i + 1]]).toEqual([expect.closeTo(row[1]!, 5), expect.closeTo(row[2]!, 5)]);
    }
    expect(s0!.shape).toEqual([2, 1]);
  });

  test("inline constant data of several dtypes is stored exactly", () => {
    const g = parseGraph(`graph g() {
      const a: i32[3] = [1, -2, 2147483647]
      const b: i64[2] = [9007199254740993, -1]
      const c: f16[2] = [1, 0.5]
      const d: bool[2] = [1, 0]
      const e: f64[1] = [0.1]
      return a, b, c, d, e
    }`);
    const data = g.constants.map((c) => c.data);
    expect(data[0]).toEqual(Int32Array.from([1, -2, 2147483647]));
    expect(data[1]).toEqual(BigInt64Array.from([9007199254740993n, -1n])); // beyond 2^53: read from the digits
    expect(data[2]).toEqual(Uint16Array.from([0x3c00, 0x3800])); // f16 bits of 1 and 0.5
    expect(data[3]).toEqual(Uint8Array.from([1, 0]));
    expect(data[4]).toEqual(Float64Array.from([0.1]));
    expect(g.outputs.map((v) => v.name)).toEqual(["a", "b", "c", "d", "e"]);
  });

  test("every attribute kind: float, bool, string, int lists with negatives and empty lists", () => {
    const g = parseGraph(`graph g(x: f32[2, 3]) {
      a = leaky_relu(x, alpha=0.2)
      s = sum(a, axes=[1], keepdims=true)
      c = cast(s, dtype="f64")
      t = transpose(x, perm=[])
      r = reshape(t, shape=[-1])
      p = pad(x, pads=[0, 1, 0, 1], value=-1.5e-3)
      return c, r, p
    }`);
    expect(g.nodes.map((n) => n.attrs)).toEqual([
      { alpha: 0.2 }, { axes: [1], keepdims: true }, { dtype: "f64" }, { perm: [] }, { shape: [-1] }, { pads: [0, 1, 0, 1], value: -0.0015 },
    ]);
    expect(g.nodes.map((n) => n.outputs[0]!.type)).toEqual([
      { shape: [2, 3], dtype: "f32" }, { shape: [2, 1], dtype: "f32" }, { shape: [2, 1], dtype: "f64" },
      { shape: [3, 2], dtype: "f32" }, { shape: [6], dtype: "f32" }, { shape: [2, 5], dtype: "f32" },
    ]);
  });

  test("defaults are filled in from the op's schema", () => {
    const g = parseGraph(`graph g(x: f32[4]) { y = leaky_relu(x)  return y }`);
    expect(g.nodes[0]!.attrs).toEqual({ alpha: 0.01 });
  });

  test("quoted names, keywords as names, and a graph output that is an input", () => {
    const g = parseGraph(`graph "my graph"("conv1/w:0": f32["n+1", 2]) {
      "return" = neg("conv1/w:0")
      return "return", "conv1/w:0"
    }`);
    expect(g.inputs[0]!.name).toBe("conv1/w:0");
    expect(g.inputs[0]!.type.shape).toEqual(["n+1", 2]);
    expect(g.nodes[0]!.name).toBe("return");
    expect(g.outputs.map((v) => v.name)).toEqual(["return", "conv1/w:0"]);
  });
});

describe("graph text: print and round trip", () => {
  test("the MLP: parse(print(g)) is g, and printing again gives the same text", () => {
    const g = parseGraph(MLP, { constants: { w1: W1 } });
    // b1 was inline; the printer only declares it, so its data comes from the option now.
    // Attributes print with their defaults filled in (matmul's transA/transB).
    const text = roundTrip(g, { w1: W1, b1: g.constants[1]!.data as Float32Array });
    expect(text).toBe(`graph main(x: f32[batch, 4]) {
  const w1: f32[4, 3]
  const b1: f32[3]
  h: f32[batch, 3] = matmul(x, w1, transA=false, transB=false)
  hb: f32[batch, 3] = add(h, b1)
  r: f32[batch, 3] = relu(hb)
  s0: f32[batch, 1], s1: f32[batch, 2] = split(r, axis=1, sizes=[1, 2]) @sp
  return s0, s1
}
`);
  });

  test("graphs from GraphBuilder: builder names print without @labels and come back", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["n", 3, 8, 8]);
    const w = b.constant("w", new Float32Array(4 * 3 * 9), [4, 3, 3, 3]);
    const c = b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] });
    const r1 = b.op1("relu", [c]);
    const r2 = b.op1("relu", [r1]); // named relu_1 by the builder
    const [a, d] = b.op("split", [r2], { axis: 1, sizes: [3, 1] });
    const m = b.op1("max", [a!], { axes: [2, 3] });
    const g = b.build([m, d!]);
    const text = roundTrip(g, { w: g.constants[0]!.data as Float32Array });
    expect(text).not.toContain("@");
    expect(text).toContain("relu_1.out: f32[n, 4, 8, 8] = relu(relu.out)");
    expect(text).toContain("split.out0: f32[n, 3, 8, 8], split.out1: f32[n, 1, 8, 8] = split(relu_1.out, axis=1, sizes=[3, 1])");
    expect(parseGraph(text, { constants: { w: new Float32Array(108) } }).nodes.map((n) => n.name)).toEqual(["conv2d", "relu", "relu_1", "split", "max"]);
  });

  test("a small CNN with a three-output node: the parsed copy computes the same numbers", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [1, 2, 6, 6]);
    const param = (name: string, shape: number[]) =>
      b.constant(name, Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, (_, i) => Math.sin(i * 1.7 + name.length)), shape);
    const c = b.op1("conv2d", [x, param("w", [3, 2, 3, 3])], { pads: [1, 1, 1, 1] });
    const [y, mean] = b.op("batch_norm_train", [c, param("scale", [3]), param("bias", [3])], { epsilon: 1e-3 });
    const p = b.op1("max_pool2d", [b.op1("relu", [y!])], { kernel: [2, 2], strides: [2, 2] });
    const flat = b.op1("reshape", [p], { shape: [0, -1] });
    const out = b.op1("softmax", [b.op1("matmul", [flat, param("fc", [27, 4])])]);
    const g = b.build([out, mean!]);
    const data = Object.fromEntries(g.constants.map((k) => [k.value.name, k.data as Float32Array]));
    const text = roundTrip(g, data);
    expect(text).toContain("batch_norm_train.out0: f32[1, 3, 6, 6], batch_norm_train.out1: f32[3], batch_norm_train.out2: f32[3] = ");
    const again = parseGraph(text, { constants: data });
    const input = [{ data: Array.from({ length: 72 }, (_, i) => Math.cos(i)), shape: [1, 2, 6, 6] }];
    const want = interpret(g, input).outputs, got = interpret(again, input).outputs;
    expect(got.map((o) => [...o.data])).toEqual(want.map((o) => [...o.data]));
    expect(want[0]!.data.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 5); // softmax rows sum to 1
  });

  test("comments, semicolons, an empty return and a statement per line or several per line", () => {
    const g = parseGraph(`# leading comment
      graph g(x: f32[2]) { a = relu(x); b = neg(a)   # two on a line
        ; return
      } # trailing comment`);
    expect(g.nodes.map((n) => n.name)).toEqual(["a", "b"]);
    expect(g.outputs).toEqual([]);
    expect(printGraph(g)).toContain("  return\n}");
    expect(diffGraphs(parseGraph(printGraph(g)), g)).toBeNull();
  });

  test("odd names, odd numbers and node names that differ from their outputs", () => {
    const b = new GraphBuilder();
    const x = b.input("in put", ["batch size", 2]);
    const y = b.input("const", [1, 2]);
    const s = b.op1("add", [x, y], {}, "graph");
    const p = b.op1("pad", [s], { pads: [0, 0, 0, 1], value: -0 }, "p");
    const q = b.op1("pad", [p], { pads: [0, 0, 0, 1], value: -Infinity });
    const z = b.op1("leaky_relu", [q], { alpha: 1e-7 });
    const g = b.build([z, s]);
    const text = roundTrip(g);
    expect(text).toContain(`graph main("in put": f32["batch size", 2], "const": f32[1, 2])`);
    expect(text).toContain(`value=-0)`);
    expect(text).toContain(`value=-inf)`);
    expect(text).toContain(`alpha=1e-7)`);
    expect(Object.is(parseGraph(text).nodes[1]!.attrs["value"], -0)).toBe(true);
  });

  test("printing without types and with inline constants; the dump parses back alone", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [2]);
    const k = b.constant("k", Float32Array.from([0.1, -2.5]), [2]);
    const i = b.constant("i", BigInt64Array.from([-(2n ** 62n), 7n]), [2], "i64");
    const h = b.constant("h", Uint16Array.from([0x3c00, 0xbc00]), [2], "f16");
    const g = b.build([b.op1("mul", [x, k]), i, h]);
    expect(printGraph(g, { types: false })).toContain("  mul.out = mul(x, k)\n");
    const text = printGraph(g, { inlineConstants: 8 });
    expect(text).toContain(`const k: f32[2] = [${Math.fround(0.1)}, -2.5]`);
    expect(text).toContain(`const i: i64[2] = [-4611686018427387904, 7]`);
    expect(text).toContain(`const h: f16[2] = [1, -1]`);
    const again = parseGraph(text);
    expect(diffGraphs(g, again)).toBeNull();
    expect(printGraph(again, { inlineConstants: 8 })).toBe(text);
  });

  test("diffGraphs names the first difference", () => {
    const a = parseGraph(`graph g(x: f32[3]) { y = relu(x)  z = neg(y)  return z }`);
    const b = parseGraph(`graph g(x: f32[3]) { y = relu(x)  z = exp(y)  return z }`);
    const c = parseGraph(`graph g(x: f32[3]) { u = relu(x)  v = neg(u)  return v }`);
    expect(diffGraphs(a, b)).toBe("node 1 (z): op neg vs exp");
    expect(diffGraphs(a, c)).toBe("node 0: name y vs u");
    expect(diffGraphs(a, c, { names: false })).toBeNull();
  });
});

describe("graph text: errors carry line and column", () => {
  const err = (text: string, opts = {}): ParseError => {
    try {
      parseGraph(text, opts);
    } catch (e) {
      if (e instanceof ParseError) return e;
      throw e;
    }
    throw new Error("expected a ParseError");
  };
  const at = (e: ParseError) => [e.line, e.column];

  test("syntax", () => {
    const e = err(`graph g(x: f32[2]) {\n  y = relu(x\n  return y\n}`);
    expect(e.message).toMatch(/syntax error: expected/);
    expect(at(e)).toEqual([3, 3]);
  });

  test("unknown value, and a value used before its definition", () => {
    const e = err(`graph g(x: f32[2]) {\n  y = relu(q)\n  return y\n}`);
    expect(e.message).toContain("unknown value 'q'");
    expect(at(e)).toEqual([2, 12]);
    const f = err(`graph g(x: f32[2]) {\n  y = relu(z)\n  z = relu(x)\n  return y\n}`);
    expect(f.message).toContain("value 'z' is used before its definition at 3:3");
    expect(at(f)).toEqual([2, 12]);
    expect(at(err(`graph g(x: f32[2]) {\n  return nope\n}`))).toEqual([2, 10]);
  });

  test("unknown op, named", () => {
    const e = err(`graph g(x: f32[2]) {\n  y = frobnicate(x)\n  return y\n}`);
    expect(e.message).toContain("unknown op 'frobnicate'");
    expect(at(e)).toEqual([2, 7]);
  });

  test("attribute type errors point at the attribute", () => {
    const e = err(`graph g(x: f32[2, 3]) {\n  y = transpose(x, perm=[1.5, 0])\n  return y\n}`);
    expect(e.message).toMatch(/attribute "perm" must be ints/);
    expect(at(e)).toEqual([2, 25]);
    const u = err(`graph g(x: f32[2, 3]) {\n  y = relu(x, alpha=1)\n  return y\n}`);
    expect(u.message).toMatch(/unknown attribute "alpha"/);
    const m = err(`graph g(x: f32[2, 3]) {\n  y = reshape(x)\n  return y\n}`);
    expect(m.message).toMatch(/missing attribute "shape"/);
    expect(at(m)).toEqual([2, 7]);
    expect(err(`graph g(x: f32[2]) { y = leaky_relu(x, alpha=1, alpha=2) return y }`).message).toContain("attribute 'alpha' is given twice");
    expect(err(`graph g(x: f32[2]) { y = leaky_relu(x, alpha=[1, "a"]) return y }`).message).toContain("only numbers or only strings");
    expect(err(`graph g(x: f32[2]) { y = leaky_relu(alpha=1, x) return y }`).message).toContain("comes after its attributes");
  });

  test("redefinition of a value and of a node name", () => {
    const e = err(`graph g(x: f32[2]) {\n  y = relu(x)\n  y = neg(x)\n  return y\n}`);
    expect(e.message).toContain("'y' is already defined (at 2:3)");
    expect(at(e)).toEqual([3, 3]);
    expect(err(`graph g(x: f32[2], x: f32[3]) { return x }`).message).toContain("'x' is already defined");
    const n = err(`graph g(x: f32[2]) {\n  y = relu(x) @n\n  z = neg(x) @n\n  return z\n}`);
    expect(n.message).toContain("node name 'n' is already used (at 2:16)");
    expect(at(n)).toEqual([3, 15]);
  });

  test("a type annotation that disagrees with inference", () => {
    const e = err(`graph g(x: f32[2, 3], w: f32[3, 4]) {\n  h: f32[2, 3] = matmul(x, w)\n  return h\n}`);
    expect(e.message).toContain("'h' is annotated f32[2, 3], but matmul (node h) gives f32[2, 4]");
    expect(at(e)).toEqual([2, 6]);
  });

  test("shape errors from an op's inference, and output counts", () => {
    const e = err(`graph g(x: f32[2, 3], w: f32[4, 4]) {\n  h = matmul(x, w)\n  return h\n}`);
    expect(at(e)).toEqual([2, 7]);
    expect(e.message).toContain("node h (matmul)"); // the op's own message, naming the node
    expect(err(`graph g(x: f32[2]) { a, b = relu(x) return a }`).message).toContain("relu has 1 output, but 2 names are bound");
  });

  test("constants: missing data names the constant; wrong size, array class and shape", () => {
    const e = err(`graph g() {\n  const w1: f32[2]\n  return w1\n}`);
    expect(e.message).toContain("constant 'w1' has no data");
    expect(at(e)).toEqual([2, 9]);
    expect(err(`graph g() { const w: f32[3] return w }`, { constants: { w: new Float32Array(2) } }).message).toContain("needs 3 elements, the data has 2");
    expect(err(`graph g() { const w: f32[2] return w }`, { constants: { w: new Float64Array(2) } }).message).toContain("must be a Float32Array, got Float64Array");
    expect(err(`graph g() { const w: f32[n] return w }`).message).toContain("symbolic shape");
    expect(err(`graph g() { const w: i8[1] = [300] return w }`).message).toContain("300 does not fit in i8");
    expect(err(`graph g() { const w: i32[1] = [1.5] return w }`).message).toContain("must be integers");
    expect(err(`graph g() { const w: f32[1] = [1] return w }`, { constants: { w: new Float32Array(1) } }).message).toContain("inline data and data in the constants option");
  });

  test("unknown dtype, bad strings, and the source name in front", () => {
    expect(err(`graph g(x: f31[2]) { return x }`).message).toContain("unknown dtype 'f31'");
    expect(err(`graph g("a\\q": f32[2]) { return x }`).message).toContain("bad string literal");
    expect(err(`graph g(x: f32[2]) { return y }`, { source: "m.lt" }).message).toMatch(/^m\.lt:1:29: unknown value 'y'/);
  });
});
