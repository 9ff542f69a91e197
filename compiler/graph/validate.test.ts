import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import type { Graph, Node, Value } from "./graph.ts";
import { parseGraph } from "./text/parse.ts";
import { graphProblems, validate } from "./validate.ts";

const CHAIN = `graph g(x: f32[2, 3]) {
  const c: f32[3] = [1, 2, 3]
  a = add(x, c)
  b = relu(a)
  d = neg(b)
  return d, b
}`;

const f32 = (...shape: number[]) => ({ shape, dtype: "f32" as const });
const value = (id: number, name: string, shape: number[] = [3]): Value => ({ id, name, type: f32(...shape) });
const node = (id: number, name: string, op: string, inputs: Value[], outputs: Value[]): Node => ({ id, name, op, inputs, attrs: {}, outputs });

describe("validate", () => {
  test("parsed graphs are valid", () => {
    const g = parseGraph(CHAIN);
    expect(graphProblems(g)).toEqual([]);
    expect(() => validate(g)).not.toThrow();
  });

  test("a node reading a value defined later (no cycle) breaks topological order", () => {
    const g = parseGraph(CHAIN);
    const [a, b, d] = g.nodes;
    const bad: Graph = { ...g, nodes: [a!, d!, b!] };
    expect(graphProblems(bad)).toEqual(["node d (neg) reads b's output before node b defines it: nodes are not in topological order"]);
    expect(() => validate(bad)).toThrow(LatheError);
  });

  test("a cycle is reported as a cycle naming its nodes", () => {
    const x = value(0, "x");
    const pa = value(1, "p.out"), qa = value(2, "q.out"), ra = value(3, "r.out");
    // p reads r, r reads q, q reads p: p -> r -> q -> p
    const p = node(4, "p", "add", [x, ra], [pa]);
    const q = node(5, "q", "relu", [pa], [qa]);
    const r = node(6, "r", "neg", [qa], [ra]);
    const g: Graph = { inputs: [x], constants: [], nodes: [p, q, r], outputs: [ra] };
    expect(graphProblems(g)).toEqual(["cycle: p -> r -> q -> p (each node reads the next one's output)"]);
    // A node reading its own output is a cycle of one.
    const s = node(7, "s", "neg", [], [value(8, "s.out")]);
    const self: Graph = { inputs: [], constants: [], nodes: [{ ...s, inputs: [s.outputs[0]!] }], outputs: [] };
    expect(graphProblems(self)[0]).toBe("cycle: s -> s (each node reads the next one's output)");
  });

  test("dangling values: an input or output nothing defines, and a stale copy of a value", () => {
    const g = parseGraph(CHAIN);
    const ghost = value(99, "ghost", [2, 3]);
    const b = g.nodes[1]!;
    const g1: Graph = { ...g, nodes: [g.nodes[0]!, { ...b, inputs: [ghost] }, g.nodes[2]!] };
    expect(graphProblems(g1)).toEqual(["node b (relu): input 0 (ghost) is not defined by any node, graph input or constant"]);
    const g2: Graph = { ...g, outputs: [ghost] };
    expect(graphProblems(g2)).toEqual(["graph output 0 (ghost) is not defined by any node, graph input or constant"]);
    const stale = { ...g.nodes[0]!.outputs[0]! }; // same id and name, another object
    const g3: Graph = { ...g, nodes: [g.nodes[0]!, { ...b, inputs: [stale] }, g.nodes[2]!] };
    expect(graphProblems(g3)[0]).toMatch(/^node b \(relu\): input 0 \(a\) is not defined .* \(a stale copy of a, id \d+, defined by node a\)$/);
  });

  test("unique names and ids; values defined twice", () => {
    const g = parseGraph(CHAIN);
    const [a, b, d] = g.nodes as [Node, Node, Node];
    const renamed: Graph = { ...g, nodes: [a, b, { ...d, name: "b" }] };
    expect(graphProblems(renamed)).toEqual(["two nodes are named b"]);
    const dupValue: Graph = { ...g, nodes: [a, b, { ...d, outputs: [{ ...d.outputs[0]!, name: "a" }] }], outputs: [] };
    expect(graphProblems(dupValue)).toEqual(["two values are named a (defined by node a and by node d)"]);
    const dupId: Graph = { ...g, nodes: [a, b, { ...d, id: a.id }] };
    expect(graphProblems(dupId)).toEqual([`id ${a.id} is used by both node a and node d`]);
    const twice: Graph = { ...g, nodes: [a, b, { ...d, outputs: b.outputs }], outputs: [] };
    expect(graphProblems(twice)[0]).toBe("value b is defined twice: by node b and by node d");
  });

  test("recorded types must equal what the op infers; unknown ops and bad attributes are named", () => {
    const g = parseGraph(CHAIN);
    const [a, b, d] = g.nodes as [Node, Node, Node];
    const wrong: Graph = { ...g, nodes: [a, b, { ...d, outputs: [{ ...d.outputs[0]!, type: f32(3, 2) }] }], outputs: [] };
    expect(graphProblems(wrong)).toEqual(["node d (neg): output d is recorded as f32[3, 2], the op infers f32[2, 3] from inputs f32[2, 3]"]);
    const unknown: Graph = { ...g, nodes: [a, b, { ...d, op: "nope" }] };
    expect(graphProblems(unknown)).toEqual(['node d: unknown op "nope"']);
    const attr: Graph = { ...g, nodes: [a, b, { ...d, attrs: { alpha: 1 } }] };
    expect(graphProblems(attr)).toEqual(['node d (neg): unknown attribute "alpha"']);
    // The op's own shape error (broadcasting [2, 3] with [4]) is reported, naming the node.
    const c4 = { value: { ...g.constants[0]!.value, type: f32(4) }, data: new Float32Array(4) };
    const shape: Graph = { ...g, constants: [c4], nodes: [{ ...a, inputs: [g.inputs[0]!, c4.value] }, b, d] };
    const problems = graphProblems(shape);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/node a\b.*add/);
  });

  test("constants: data size must match the type", () => {
    const g = parseGraph(CHAIN);
    const c = g.constants[0]!;
    const bad: Graph = { ...g, constants: [{ ...c, data: new Float32Array(2) }] };
    expect(graphProblems(bad)).toEqual(["constant c: f32[3] needs 3 elements, its data has 2"]);
  });

  test("validate lists every problem in one error", () => {
    const g = parseGraph(CHAIN);
    const ghost = value(99, "ghost");
    const bad: Graph = { ...g, nodes: [...g.nodes, { ...g.nodes[2]!, name: "b", id: 98, outputs: [value(97, "e", [2, 3])] }], outputs: [ghost] };
    expect(() => validate(bad)).toThrow(/invalid graph:\n {2}two nodes are named b\n {2}graph output 0 \(ghost\) is not defined/);
  });
});
