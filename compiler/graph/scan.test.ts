import { describe, expect, test } from "vitest";
import { LatheError, ParseError, ShapeError } from "../../core/errors.ts";
import { checkGraphGrad } from "../../test/helpers/graph-grad-check.ts";
import { GraphBuilder } from "./builder.ts";
import type { Graph } from "./graph.ts";
import { interpret } from "./interpret.ts";
import { autodiff } from "./passes/autodiff.ts";
import { commonSubexpressions } from "./passes/cse.ts";
import { deadCodeElimination } from "./passes/dce.ts";
import { foldConstants } from "./passes/fold-constants.ts";
import { inferShapes } from "./passes/infer-shapes.ts";
import { simplify } from "./passes/simplify.ts";
import { isScan } from "./scan.ts";
import { rnnBody, rnnFeed, rnnGraph, type RnnSizes } from "./scan.fixture.ts";
import { parseGraph } from "./text/parse.ts";
import { printGraph } from "./text/print.ts";
import { graphProblems, validate } from "./validate.ts";

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-12) => {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `element ${i}: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!)));
};

const S: RnnSizes = { T: 4, B: 2, I: 3, H: 3 };

/** Every input's gradient through the autodiff pass, in the interpreter. */
function grads(g: Graph, feed: readonly { data: ArrayLike<number>; shape: readonly number[] }[]): Float64Array[] {
  const { graph } = autodiff(g, g.outputs[0]!, g.inputs);
  validate(graph);
  return interpret(graph, feed).outputs.slice(g.outputs.length).map((o) => o.data);
}

describe("scan in the interpreter", () => {
  for (const reverse of [false, true]) {
    test(`an RNN as a scan gives the unrolled RNN's final carry and stacked outputs (reverse: ${reverse})`, () => {
      const s = { ...S, reverse };
      const feed = rnnFeed(s, 4);
      const a = interpret(rnnGraph(s, "scan"), feed).outputs, b = interpret(rnnGraph(s, "unrolled"), feed).outputs;
      expect(a[2]!.shape).toEqual([4, 2, 3]);
      a.forEach((o, k) => close(o.data, b[k]!.data));
    });
  }

  test("reverse changes the result (the steps really run the other way)", () => {
    const feed = rnnFeed(S, 4);
    const fwd = interpret(rnnGraph(S, "scan"), feed).outputs[1]!.data, rev = interpret(rnnGraph({ ...S, reverse: true }, "scan"), feed).outputs[1]!.data;
    expect(Array.from(fwd)).not.toEqual(Array.from(rev));
  });

  test("a symbolic length: one graph runs 1, 3 and 0 steps; 0 steps return the initial carry", () => {
    const g = rnnGraph({ ...S, T: "steps" }, "scan");
    validate(g);
    expect(g.outputs[2]!.type.shape).toEqual(["steps", 2, 3]);
    for (const T of [1, 3]) {
      const feed = rnnFeed(S, T, 5);
      const want = interpret(rnnGraph({ ...S, T }, "unrolled"), feed).outputs;
      // Outputs 1 and 2 (hT, ys); the losses weight ys differently.
      interpret(g, feed).outputs.slice(1).forEach((o, k) => close(o.data, want[k + 1]!.data));
    }
    const feed = rnnFeed(S, 0, 6);
    const out = interpret(g, feed).outputs;
    close(out[1]!.data, feed[0]!.data);
    expect(out[2]!.shape).toEqual([0, 2, 3]);
  });

  test("a scan without sequences runs `length` steps on carries and invariants alone", () => {
    const body = new GraphBuilder();
    const c = body.input("c", [2], "f64"), w = body.input("w", [2], "f64");
    const c2 = body.op1("add", [body.op1("mul", [c, w]), w]);
    const b = new GraphBuilder();
    const c0 = b.input("c0", [2], "f64"), wIn = b.input("w", [2], "f64");
    const [cT, cs] = b.scan(body.build([c2, c]), { carries: [c0], invariants: [wIn] }, { length: 3 });
    const out = interpret(b.build([cT!, cs!]), [{ data: [1, 2], shape: [2] }, { data: [2, 0.5], shape: [2] }]).outputs;
    // c ← c·w + w three times: 1 → 4 → 10 → 22; 2 → 1.5 → 1.25 → 1.125
    close(out[0]!.data, [22, 1.125]);
    close(out[1]!.data, [1, 2, 4, 1.5, 10, 1.25]);
  });
});

describe("autodiff through scan", () => {
  for (const reverse of [false, true]) {
    test(`gradients of every input equal the unrolled RNN's (reverse: ${reverse})`, () => {
      const s = { ...S, reverse };
      const feed = rnnFeed(s, 4, 2);
      const a = grads(rnnGraph(s, "scan"), feed), b = grads(rnnGraph(s, "unrolled"), feed);
      a.forEach((d, k) => close(d, b[k]!, 1e-11));
    });
  }

  test("gradients match central differences in f64 (tiny case)", () => {
    const s = { T: 3, B: 1, I: 2, H: 2 };
    checkGraphGrad(rnnGraph(s, "scan"), rnnFeed(s, 3, 3), [0, 1, 2, 3, 4], { rtol: 1e-6, atol: 1e-8 });
  });

  test("the backward pass is a reverse scan over the saved per-step activations", () => {
    const g = rnnGraph(S, "scan");
    const { graph } = autodiff(g, g.outputs[0]!, [g.inputs[2]!]);
    const scans = graph.nodes.filter(isScan);
    expect(scans.map((n) => n.attrs["reverse"])).toEqual([false, true]);
    const [fwd, bwd] = scans as [typeof scans[0], typeof scans[0]];
    // The forward node now also stacks what the backward body reads, and the backward scan reads those stacks.
    expect(fwd.outputs.length).toBeGreaterThan(2);
    for (const saved of fwd.outputs.slice(2)) {
      expect(saved.type.shape[0]).toBe(4);
      expect(bwd.inputs).toContain(saved);
    }
  });

  test("a symbolic length: gradients equal the unrolled ones at each length", () => {
    const g = rnnGraph({ ...S, T: "steps" }, "scan");
    for (const T of [2, 3]) {
      const feed = rnnFeed(S, T, 7);
      const { graph } = autodiff(g, g.outputs[0]!, g.inputs);
      const got = interpret(graph, feed).outputs.slice(3).map((o) => o.data);
      // The symbolic-length loss weights ys by ys; the unrolled one by a ramp: compare to a symbolic-free scan instead.
      const u = rnnGraph({ ...S, T }, "unrolled");
      const sameLoss = withSquareWeights(u);
      grads(sameLoss, feed).forEach((d, k) => close(got[k]!, d, 1e-11));
    }
  });

  test("nested scans: an RNN whose step is itself a scan over two sub-steps", () => {
    // Inner: c ← tanh(c·w + x) twice (the same x); outer: scans that over xs.
    const inner = new GraphBuilder();
    const ic = inner.input("c", [2], "f64"), ix = inner.input("x", [2], "f64"), iw = inner.input("w", [2], "f64");
    const innerBody = inner.build([inner.op1("tanh", [inner.op1("add", [inner.op1("mul", [ic, iw]), ix])])]);
    const outer = new GraphBuilder();
    const oc = outer.input("c", [2], "f64"), ox = outer.input("x", [2], "f64"), ow = outer.input("w", [2], "f64");
    const [c2] = outer.scan(innerBody, { carries: [oc], invariants: [ox, ow] }, { length: 2 });
    const outerBody = outer.build([c2!, outer.op1("sin", [c2!])]);
    const build = (nested: boolean): Graph => {
      const b = new GraphBuilder();
      const c0 = b.input("c0", [2], "f64"), xs = b.input("xs", [3, 2], "f64"), w = b.input("w", [2], "f64");
      let cT, ys;
      if (nested) [cT, ys] = b.scan(outerBody, { carries: [c0], sequences: [xs], invariants: [w] });
      else {
        let c = c0;
        const per = [];
        for (let t = 0; t < 3; t++) {
          const x = b.op1("squeeze", [b.op1("slice", [xs], { starts: [t], ends: [t + 1], axes: [0], steps: [1] })], { axes: [0] });
          for (let k = 0; k < 2; k++) c = b.op1("tanh", [b.op1("add", [b.op1("mul", [c, w]), x])]);
          per.push(b.op1("unsqueeze", [b.op1("sin", [c])], { axes: [0] }));
        }
        cT = c;
        ys = b.op1("concat", per, { axis: 0 });
      }
      const loss = b.op1("add", [b.op1("sum", [b.op1("mul", [ys!, ys!])]), b.op1("sum", [cT!])]);
      return b.build([loss]);
    };
    const feed = [{ data: [0.3, -0.2], shape: [2] }, { data: [0.1, 0.5, -0.4, 0.2, 0.7, -0.9], shape: [3, 2] }, { data: [0.8, -1.1], shape: [2] }];
    close(interpret(build(true), feed).outputs[0]!.data, interpret(build(false), feed).outputs[0]!.data);
    grads(build(true), feed).forEach((d, k) => close(d, grads(build(false), feed)[k]!, 1e-11));
    checkGraphGrad(build(true), feed, [0, 1, 2], { rtol: 1e-6 });
  });
});

/** rnnGraph's loss with ys weighted by itself (as the symbolic-length form does). */
function withSquareWeights(g: Graph): Graph {
  const b = GraphBuilder.from({ ...g, outputs: [] });
  const [, hT, ys] = g.outputs as [unknown, typeof g.outputs[0], typeof g.outputs[0]];
  const loss = b.op1("add", [b.op1("sum", [b.op1("cast", [b.op1("mul", [ys!, ys!])], { dtype: "f64" })]), b.op1("sum", [b.op1("cast", [hT!], { dtype: "f64" })])]);
  return deadCodeElimination(b.build([loss, hT!, ys!]));
}

describe("graph passes and scan bodies", () => {
  test("the text form prints the body nested and parses back to the same graph", () => {
    const g = rnnGraph({ ...S, T: "steps", reverse: true }, "scan");
    const text = printGraph(g);
    expect(text).toMatch(/= scan\(h0, xs, wx, wh, bias, carries=1, sequences=1, reverse=true, length=-1\) graph body\(h: f64\[2, 3\]/);
    const back = parseGraph(text, { constants: {} });
    validate(back);
    expect(printGraph(back)).toBe(text);
    const feed = rnnFeed(S, 3);
    close(interpret(back, feed).outputs[1]!.data, interpret(g, feed).outputs[1]!.data);
  });

  test("parse errors: a scan without a body, a body on another op, a body that does not fit", () => {
    expect(() => parseGraph("graph g(x: f32[2, 2]) {\n  c, ys = scan(x, x, carries=1, sequences=1)\n  return c\n}")).toThrow(/2:11: a scan needs its body/);
    expect(() => parseGraph("graph g(x: f32[2]) {\n  y = neg(x) graph body(a: f32[2]) { return a }\n  return y\n}")).toThrow(ParseError);
    const bad = "graph g(c0: f32[2], xs: f32[5, 3]) {\n  c, ys = scan(c0, xs, carries=1, sequences=1) graph body(c: f32[2], x: f32[2]) {\n    return c, x\n  }\n  return c\n}";
    expect(() => parseGraph(bad)).toThrow(/2:11: node c \(scan\): body sequence input 0 \(one slice of f32\[5, 3\]\) x is f32\[2\], expected f32\[3\]/);
  });

  test("the validator checks the body and the node's types, naming the node", () => {
    const g = rnnGraph(S, "scan");
    const scan = g.nodes.find(isScan)!;
    const broken: Graph = { ...g, nodes: g.nodes.map((n) => (n === scan ? { ...scan, body: { ...scan.body, outputs: [scan.body.outputs[1]!] } } : n)) };
    expect(() => validate(broken)).toThrow(LatheError);
    expect(graphProblems(broken).join("\n")).toMatch(/node scan \(scan\): the op gives 1 outputs, the node has 2/);
    const noBody: Graph = { ...g, nodes: g.nodes.map((n) => (n === scan ? { ...n, body: undefined } : n)) };
    expect(graphProblems(noBody)).toContain("node scan (scan) has no body graph");
    const body = rnnBody(S);
    const b = new GraphBuilder();
    const h0 = b.input("h0", [2, 3], "f64"), xs = b.input("xs", [4, 2, 5], "f64");
    expect(() => b.scan(body, { carries: [h0], sequences: [xs], invariants: [] })).toThrow(ShapeError);
  });

  test("dce drops a stacked output nobody reads, with the body nodes that made it; carries stay", () => {
    const g = rnnGraph(S, "scan");
    const scan = g.nodes.find(isScan)!;
    const onlyFinal = deadCodeElimination({ ...g, outputs: [scan.outputs[0]!] });
    const pruned = onlyFinal.nodes.find(isScan)!;
    expect(pruned.outputs).toEqual([scan.outputs[0]]);
    expect(pruned.body.nodes.map((n) => n.op)).not.toContain("mul");
    validate(onlyFinal);
    const feed = rnnFeed(S, 4);
    close(interpret(onlyFinal, feed).outputs[0]!.data, interpret(g, feed).outputs[1]!.data);
  });

  test("cse, simplify and constant folding recurse into bodies; infer-shapes retypes a body", () => {
    const body = new GraphBuilder();
    const c = body.input("c", ["n"], "f32"), x = body.input("x", ["n"], "f32");
    const one = body.constant("one", Float32Array.of(1), [], "f32");
    const twice = [body.op1("exp", [x]), body.op1("exp", [x])];
    const c2 = body.op1("mul", [body.op1("add", [body.op1("add", [c, twice[0]!]), twice[1]!]), body.op1("exp", [one])]);
    const b = new GraphBuilder();
    const c0 = b.input("c0", ["n"], "f32"), xs = b.input("xs", [3, "n"], "f32");
    const [cT] = b.scan(body.build([body.op1("mul", [c2, one])]), { carries: [c0], sequences: [xs] });
    const g = b.build([cT!]);
    const passes = deadCodeElimination(foldConstants(simplify.run(commonSubexpressions(g))));
    const ops = passes.nodes.find(isScan)!.body.nodes.map((n) => n.op);
    // cse: one exp(x); folding: exp(one) is a constant; simplify: mul(·, one) is gone.
    expect(ops).toEqual(["exp", "add", "add", "mul"]);
    validate(passes);
    const feed = [{ data: [0.5, 1], shape: [2] }, { data: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], shape: [3, 2] }];
    close(interpret(passes, feed).outputs[0]!.data, interpret(g, feed).outputs[0]!.data, 1e-6);
  });

  test("infer-shapes carries a static size from the operands into the body", () => {
    const body = new GraphBuilder();
    const c = body.input("c", ["n"], "f32"), x = body.input("x", ["n"], "f32");
    const b = new GraphBuilder();
    const c0 = b.input("c0", ["n"], "f32"), xs = b.input("xs", [3, "n"], "f32");
    const [cT] = b.scan(body.build([body.op1("add", [c, body.op1("exp", [x])])]), { carries: [b.op1("neg", [c0])], sequences: [b.op1("neg", [xs])] });
    const g = b.build([cT!]);
    // The inputs become static; the negs still record n until infer-shapes runs.
    const c0s = { ...c0, type: { shape: [2], dtype: "f32" as const } }, xss = { ...xs, type: { shape: [3, 2], dtype: "f32" as const } };
    const swap = new Map([[c0, c0s], [xs, xss]]);
    const stale: Graph = { ...g, inputs: [c0s, xss], nodes: g.nodes.map((n) => ({ ...n, inputs: n.inputs.map((v) => swap.get(v) ?? v) })) };
    const fixed = inferShapes(stale);
    validate(fixed);
    const scan = fixed.nodes.find(isScan)!;
    expect(scan.body.inputs.map((v) => v.type.shape)).toEqual([[2], [2]]);
    expect(scan.body.nodes.map((n) => n.outputs[0]!.type.shape)).toEqual([[2], [2]]);
    expect(fixed.outputs[0]!.type.shape).toEqual([2]);
  });

  test("a scan on constants folds into a constant", () => {
    const b = new GraphBuilder();
    const c0 = b.constant("c0", Float64Array.of(1, 2), [2], "f64"), xs = b.constant("xs", Float64Array.of(1, 1, 2, 2), [2, 2], "f64");
    const body = new GraphBuilder();
    const c = body.input("c", [2], "f64"), x = body.input("x", [2], "f64");
    const [cT] = b.scan(body.build([body.op1("mul", [c, x])]), { carries: [c0], sequences: [xs] });
    const g = foldConstants(b.build([cT!]));
    expect(g.nodes).toHaveLength(0);
    expect(Array.from(g.constants.find((k) => k.value === cT)!.data as Float64Array)).toEqual([2, 4]);
  });
});
