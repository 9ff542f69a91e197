import { afterEach, describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../../../core/errors.ts";
import type { Graph, Value } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { diffGraphs } from "../text/diff.ts";
import { parseGraph } from "../text/parse.ts";
import { printGraph } from "../text/print.ts";
import type { TensorType } from "../types.ts";
import { graphProblems } from "../validate.ts";
import { commonSubexpressions, cse } from "./cse.ts";
import { dce, deadCodeElimination } from "./dce.ts";
import { inferShapes } from "./infer-shapes.ts";
import type { GraphPass } from "./pass.ts";
import { runGraphPasses } from "./pass.ts";
import { standardGraphPasses } from "./index.ts";

/** Asserts that `got` is structurally the graph the text describes (names included). */
function expectGraph(got: Graph, want: string): void {
  expect(diffGraphs(got, parseGraph(want)), printGraph(got, { inlineConstants: 16 })).toBeNull();
  expect(graphProblems(got)).toEqual([]);
}

/** Deterministic inputs in [-2, 2) for a graph with static input shapes. */
function feed(g: Graph, seed = 1): { data: Float64Array; shape: number[] }[] {
  let s = seed;
  const next = () => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s / 2 ** 32) * 4 - 2; };
  return g.inputs.map((v) => {
    const shape = v.type.shape as number[];
    return { data: Float64Array.from({ length: shape.reduce((a, b) => a * b, 1) }, next), shape };
  });
}

/** Both graphs give bit-identical outputs on the same inputs. */
function expectSameValues(a: Graph, b: Graph): void {
  const x = feed(a);
  const ra = interpret(a, x).outputs, rb = interpret(b, x).outputs;
  expect(rb.map((o) => [...o.data])).toEqual(ra.map((o) => [...o.data]));
}

describe("dce", () => {
  const G = `graph g(x: f32[4], unused: f32[2]) {
    const k: f32[4] = [1, 2, 3, 4]
    const dead: f32[4] = [0, 0, 0, 0]
    a = mul(x, k)
    b = exp(a)
    c = add(b, dead)
    s0, s1 = split(a, axis=0, sizes=[1, 3])
    return s0
  }`;

  test("drops nodes that do not reach an output and constants nothing reads; keeps inputs and whole multi-output nodes", () => {
    const g = parseGraph(G);
    const out = deadCodeElimination(g);
    expectGraph(out, `graph g(x: f32[4], unused: f32[2]) {
      const k: f32[4] = [1, 2, 3, 4]
      a = mul(x, k)
      s0, s1 = split(a, axis=0, sizes=[1, 3])
      return s0
    }`);
    expectSameValues(g, out);
  });

  test("a graph with nothing dead comes back as the same object", () => {
    const g = deadCodeElimination(parseGraph(G));
    expect(deadCodeElimination(g)).toBe(g);
  });
});

describe("cse", () => {
  const G = `graph g(x: f32[4], y: f32[4]) {
    a = add(x, y)
    b = add(y, x)
    c = mul(a, b)
    d = mul(a, a)
    e = sub(x, y)
    f = sub(y, x)
    l1 = leaky_relu(x, alpha=0.1)
    l2 = leaky_relu(x, alpha=0.2)
    l3 = leaky_relu(x, alpha=0.1)
    s0, s1 = split(x, axis=0, sizes=[2, 2])
    t0, t1 = split(x, axis=0, sizes=[2, 2]) @sp2
    o = concat(t1, l3, axis=0)
    return c, d, e, f, l2, o
  }`;

  test("identical op + attrs + inputs become one node (commutative operands in either order); the first keeps its name", () => {
    const g = parseGraph(G);
    const out = commonSubexpressions(g);
    expectGraph(out, `graph g(x: f32[4], y: f32[4]) {
      a = add(x, y)
      c = mul(a, a)
      e = sub(x, y)
      f = sub(y, x)
      l1 = leaky_relu(x, alpha=0.1)
      l2 = leaky_relu(x, alpha=0.2)
      s0, s1 = split(x, axis=0, sizes=[2, 2])
      o = concat(s1, l1, axis=0)
      return c, c, e, f, l2, o
    }`);
    expectSameValues(g, out);
    expect(commonSubexpressions(out)).toBe(out);
  });
});

/** The graph with input k's type replaced, every reader rewired: its recorded types are now stale. */
function retypeInput(g: Graph, k: number, type: TensorType): Graph {
  const old = g.inputs[k]!;
  const v: Value = { ...old, type };
  const sub = (x: Value) => (x === old ? v : x);
  return { ...g, inputs: g.inputs.map(sub), nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.map(sub) })), outputs: g.outputs.map(sub) };
}

describe("infer-shapes", () => {
  const G = (x: string) => `graph g(x: f32[${x}]) {
    const c: f32[3] = [1, 2, 3]
    plus1 = add(x, c)
    t = transpose(plus1)
    s = sum(t, axes=[0], keepdims=true)
    r = reshape(s, shape=[0, -1, 1])
    return r, plus1
  }`;

  test("a concrete batch size reaches every value; names and ids stay", () => {
    const g = parseGraph(G("batch, 3"));
    const stale = retypeInput(g, 0, { shape: [5, 3], dtype: "f32" });
    expect(graphProblems(stale).length).toBeGreaterThan(0);
    const out = inferShapes(stale);
    expectGraph(out, G("5, 3"));
    expect(out.nodes.map((n) => n.outputs[0]!.id)).toEqual(g.nodes.map((n) => n.outputs[0]!.id));
    expect(out.outputs[0]!.type.shape).toEqual([1, 5, 1]);
  });

  test("nothing to change: the same graph object", () => {
    const g = parseGraph(G("batch, 3"));
    expect(inferShapes(g)).toBe(g);
  });

  test("a shape that no longer fits is a ShapeError naming the node", () => {
    const g = retypeInput(parseGraph(G("batch, 3")), 0, { shape: [5, 4], dtype: "f32" });
    expect(() => inferShapes(g)).toThrow(ShapeError);
    expect(() => inferShapes(g)).toThrow(/node plus1\b/);
  });
});

describe("pass manager", () => {
  const G = `graph g(x: f32[3]) {
    a = relu(x)
    b = relu(x)
    c = add(a, b)
    d = neg(c)
    return c
  }`;
  const saved = process.env.LATHE_PRINT_AFTER;
  afterEach(() => {
    if (saved === undefined) delete process.env.LATHE_PRINT_AFTER;
    else process.env.LATHE_PRINT_AFTER = saved;
  });

  test("prints after the named passes, '(unchanged)' when a pass did nothing; the dump parses back", () => {
    const logs: string[] = [];
    const g = parseGraph(G);
    const out = runGraphPasses(g, [cse, dce, cse], { printAfter: ["cse"], log: (t) => logs.push(t) });
    expect(logs).toHaveLength(2);
    expect(logs[0]).toBe(`// after cse\n${printGraph(commonSubexpressions(g))}\n`);
    expect(logs[1]).toBe("// after cse (unchanged)\n");
    const dumped = parseGraph(logs[0]!.slice("// after cse\n".length));
    expect(diffGraphs(dumped, commonSubexpressions(g))).toBeNull();
    expectGraph(out, `graph g(x: f32[3]) {
      a = relu(x)
      c = add(a, a)
      return c
    }`);
  });

  test("LATHE_PRINT_AFTER=all prints after every pass", () => {
    process.env.LATHE_PRINT_AFTER = "all";
    const logs: string[] = [];
    runGraphPasses(parseGraph(G), [dce, dce], { log: (t) => logs.push(t) });
    expect(logs.map((l) => l.split("\n")[0])).toEqual(["// after dce", "// after dce (unchanged)"]);
    process.env.LATHE_PRINT_AFTER = "cse, other";
    const more: string[] = [];
    runGraphPasses(parseGraph(G), [dce, cse], { log: (t) => more.push(t) });
    expect(more.map((l) => l.split("\n")[0])).toEqual(["// after cse"]);
  });

  test("verify names the pass that broke the graph", () => {
    const broken: GraphPass = { name: "drop-first", run: (g) => ({ ...g, nodes: g.nodes.slice(1) }) };
    expect(() => runGraphPasses(parseGraph(G), [cse, broken], { printAfter: [], verify: true }))
      .toThrow(new LatheError("invalid graph after pass drop-first:\n  node c (add): input 0 (a) is not defined by any node, graph input or constant"
        + "\n  node c (add): input 1 (a) is not defined by any node, graph input or constant"));
  });

  test("the standard pipeline: simplified, folded, deduplicated and trimmed, with the same values", () => {
    const g = parseGraph(`graph g(x: f32[2, 3]) {
      const one: f32[] = [1]
      const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]
      wt = transpose(w)
      m1 = mul(x, one)
      a = add(m1, wt)
      b = add(wt, x)
      c = mul(a, b)
      dead = exp(c)
      return c
    }`);
    const out = runGraphPasses(g, standardGraphPasses, { printAfter: [], verify: true });
    expectGraph(out, `graph g(x: f32[2, 3]) {
      const wt: f32[2, 3] = [1, 3, 5, 2, 4, 6]
      a = add(x, wt)
      c = mul(a, a)
      return c
    }`);
    expectSameValues(g, out);
  });
});
