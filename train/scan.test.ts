import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../core/errors.ts";
import type { Graph, Value } from "../compiler/graph/graph.ts";
import { interpret } from "../compiler/graph/interpret.ts";
import { autodiff } from "../compiler/graph/passes/autodiff.ts";
import { isScan } from "../compiler/graph/scan.ts";
import { validate } from "../compiler/graph/validate.ts";
import { printCppModule } from "../compiler/codegen/cpp/print.ts";
import { compileGraph, lowerGraph } from "../compiler/targets/cpu/graph.ts";
import { printGraphEntry } from "../compiler/targets/cpu/graph-entry.ts";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import type { Tracer } from "./lt.ts";
import { lt } from "./lt.ts";
import { Embedding, LSTM, Linear, Sequential } from "./nn/index.ts";
import { Adam } from "./optim/index.ts";
import { crossEntropy } from "./losses.ts";
import { compileStep } from "./step.ts";
import { Parameter } from "./parameter.ts";

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what = "") => {
  expect(got.length, `${what} size`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) throw new Error(`${what} element ${i}: got ${got[i]}, want ${want[i]}`);
  }
};
const randn = (n: number, rng: Rng) => Float64Array.from({ length: n }, () => rng.uniform(-1, 1));

describe("lt.scan", () => {
  test("traces the body once into one scan node; closures and parameters become invariants", () => {
    const w = new Parameter("w", Tensor.fromArray([0.5, -1, 2, 0.25], [2, 2], "f32"));
    let calls = 0;
    const { graph } = lt.trace(() => {
      const xs = lt.input("xs", ["steps", 3, 2]), h0 = lt.input("h0", [3, 2]), scale = lt.input("scale", [2]);
      const [[hT], [ys]] = lt.scan(([h], [x]) => {
        calls++;
        const h2 = x!.add(h!.matmul(lt.param(w))).tanh().mul(scale); // scale: a closure over the enclosing trace
        return [[h2], [h2.sum([1])]];
      }, [h0], [xs]);
      return [hT!, ys!];
    });
    expect(calls).toBe(1);
    validate(graph);
    const scans = graph.nodes.filter(isScan);
    expect(scans).toHaveLength(1);
    const scan = scans[0]!;
    expect(graph.inputs.map((v) => v.name)).toEqual(["xs", "h0", "scale", "w"]);
    // carries, sequences, then the captured values in first-read order.
    expect(scan.inputs.map((v) => v.name)).toEqual(["h0", "xs", "w", "scale"]);
    expect(graph.outputs[1]!.type.shape).toEqual(["steps", 3]);
    // The body against a hand-written loop.
    const rng = new Rng(1);
    const xs = randn(4 * 6, rng), h0 = randn(6, rng), scale = [1.5, -0.5], wv = [0.5, -1, 2, 0.25];
    const out = interpret(graph, [{ data: xs, shape: [4, 3, 2] }, { data: h0, shape: [3, 2] }, { data: scale, shape: [2] }, { data: wv, shape: [2, 2] }]).outputs;
    let h = Array.from(h0);
    const sums: number[] = [];
    for (let t = 0; t < 4; t++) {
      h = h.map((_, i) => {
        const r = Math.floor(i / 2), j = i % 2;
        return Math.tanh(xs[t * 6 + i]! + h[r * 2]! * wv[j]! + h[r * 2 + 1]! * wv[2 + j]!) * scale[j]!;
      });
      for (let r = 0; r < 3; r++) sums.push(h[r * 2]! + h[r * 2 + 1]!);
    }
    close(out[0]!.data, h, 1e-6, "hT");
    close(out[1]!.data, sums, 1e-6, "ys");
  });

  test("an operand of the enclosing trace on the left of a body value, nested scans, reverse", () => {
    const { graph } = lt.trace(() => {
      const xs = lt.input("xs", [3, 2], "f64"), k = lt.input("k", [2], "f64");
      const [[cT]] = lt.scan(([c], [x]) => {
        const [[inner]] = lt.scan(([d]) => [[k.mul(d!).add(x!)], []], [c!], [], { length: 2 });
        return [[inner!], []];
      }, [lt.constant(Float64Array.of(1, 1), [2], "f64")], [xs], { reverse: true });
      return cT!;
    });
    validate(graph);
    const xs = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6], k = [2, -1];
    let c = [1, 1];
    for (let t = 2; t >= 0; t--) for (let s = 0; s < 2; s++) c = c.map((v, j) => k[j]! * v + xs[t * 2 + j]!);
    close(interpret(graph, [{ data: xs, shape: [3, 2] }, { data: k, shape: [2] }]).outputs[0]!.data, c, 1e-12);
  });

  test("bad bodies are one-line errors", () => {
    const body = (fn: Parameters<typeof lt.scan>[0]) => () => lt.trace(() => {
      const xs = lt.input("xs", [3, 2]);
      return lt.scan(fn, [lt.input("c", [2])], [xs])[0][0]!;
    });
    expect(body(([c]) => [[c!.sum()], []])).toThrow(ShapeError); // a carry changes shape
    expect(body(([c]) => [[c!, c!], []])).toThrow(/returns 2 carries for 1/);
    expect(body(([c]) => [c!, []] as unknown as [Tracer[], Tracer[]])).toThrow(/must return \[newCarry, ys\]/);
    expect(body(([c]) => [[c!.add(lt.input("y", [2]))], []])).toThrow(/a loop body takes no inputs/);
    const p = new Parameter("s", Tensor.fromArray([0, 0], [2], "f32"), false);
    expect(body(([c]) => { lt.assign(p, c!); return [[c!], []]; })).toThrow(/inside a loop body/);
    expect(() => lt.trace(() => lt.scan(([c]) => [[c!], []], [lt.input("c", [2])], [lt.input("s", [])])[0][0]!)).toThrow(/scalar/);
    expect(LatheError).toBeDefined();
  });
});

/** The LSTM written out step by step, as nn.LSTM was before it became a scan. */
function unrolledLstm(lstm: LSTM, x: Tracer, T: number): Tracer {
  const zeros = lt.op("zeros_like", [x])[0]!.sum([1, 2]).unsqueeze([1]).add(lt.constant(new Float32Array(lstm.hidden), [lstm.hidden]));
  const dir = (ws: readonly (Parameter | null)[], reverse: boolean) => {
    const [wIh, wHh, bias] = ws.map((p) => lt.param(p!)) as [Tracer, Tracer, Tracer];
    let h = zeros, c = zeros;
    const hs: Tracer[] = new Array(T);
    for (let i = 0; i < T; i++) {
      const t = reverse ? T - 1 - i : i;
      [h, c] = lt.op("lstm_cell", [x.slice([t], [t + 1], [1]).squeeze([1]), h, c, wIh, wHh, bias]) as [Tracer, Tracer];
      hs[t] = h.unsqueeze([1]);
    }
    return hs.length === 1 ? hs[0]! : lt.concat(hs, 1);
  };
  const fwd = dir([lstm.wIh, lstm.wHh, lstm.bias], false);
  return lstm.bidirectional ? lt.concat([fwd, dir([lstm.wIhReverse, lstm.wHhReverse, lstm.biasReverse], true)], 2) : fwd;
}

/**
 * Inputs: x [B, T, I], then the parameters (graph inputs in first-use order); outputs:
 * loss = Σ h·ramp, the states, then d loss / d (x and every parameter).
 */
function lstmGraph(lstm: LSTM, dims: { B: number; T: number | string; I: number }, unrolled: boolean): { graph: Graph; params: Parameter[] } {
  const { graph, trace } = lt.trace(() => {
    const x = lt.input("x", [dims.B, dims.T, dims.I]);
    const h = unrolled ? unrolledLstm(lstm, x, dims.T as number) : lstm.forward(x);
    const ramp = lt.op("cumsum", [lt.op("ones_like", [h])[0]!], { axis: 1 })[0]!; // weights step t by t + 1
    return [h.mul(ramp).sum().cast("f32"), h];
  });
  const { graph: full } = autodiff(graph, graph.outputs[0]!, graph.inputs);
  return { graph: full, params: [...trace.params.keys()] };
}

const feedOf = (g: Graph, params: readonly Parameter[], x: Tensor): Tensor[] => [x, ...params.map((p) => p.value)];
const asFeed = (ts: readonly Tensor[]) => ts.map((t) => ({ data: t.toArray(), shape: t.shape }));

describe("nn.LSTM as a scan", () => {
  for (const bidirectional of [false, true]) {
    test(`equals the unrolled LSTM: states and every gradient (interpreter, bidirectional: ${bidirectional})`, () => {
      const lstm = new LSTM(3, 4, { rng: new Rng(3), bidirectional });
      const [B, T, I] = [2, 4, 3];
      const x = Tensor.fromArray(randn(B * T * I, new Rng(4)), [B, T, I]);
      const scan = lstmGraph(lstm, { B, T, I }, false), ref = lstmGraph(lstm, { B, T, I }, true);
      expect(scan.graph.nodes.filter(isScan)).toHaveLength(bidirectional ? 4 : 2); // forward and backward scans per direction
      expect(scan.params).toEqual(ref.params);
      const got = interpret(scan.graph, asFeed(feedOf(scan.graph, scan.params, x))).outputs;
      const want = interpret(ref.graph, asFeed(feedOf(ref.graph, ref.params, x))).outputs;
      expect(got[1]!.shape).toEqual([B, T, bidirectional ? 8 : 4]);
      got.forEach((o, k) => close(o.data, want[k]!.data, 1e-9, `output ${k}`));
    });
  }

  test("training saves two stacks per direction (h and c, as the unrolled graph kept): c' is carried back, not stacked", () => {
    const lstm = new LSTM(3, 4, { rng: new Rng(3) });
    const { graph } = lstmGraph(lstm, { B: 2, T: "steps", I: 3 }, false);
    const [fwd, bwd] = graph.nodes.filter(isScan);
    const saved = fwd!.outputs.slice(3); // hT, cT, hs, then the saved stacks
    expect(saved.map((v) => v.type.shape)).toEqual([["steps", 2, 4], ["steps", 2, 4]]);
    saved.forEach((v) => expect(bwd!.inputs).toContain(v));
    expect(bwd!.inputs).toContain(fwd!.outputs[1]); // the final c starts the carried-back c'
  });

  test("the bidirectional option adds a reverse direction's weights, after the forward ones (same draws as unidirectional)", () => {
    const uni = new LSTM(3, 4, { rng: new Rng(9) }), bi = new LSTM(3, 4, { rng: new Rng(9), bidirectional: true, name: "enc" });
    expect(bi.parameters().map((p) => p.name)).toEqual(["enc.w_ih", "enc.w_hh", "enc.bias", "enc.w_ih_reverse", "enc.w_hh_reverse", "enc.bias_reverse"]);
    expect(bi.wIh.value.toArray()).toEqual(uni.wIh.value.toArray());
  });

  // The acceptance test: compile cost by what is compiled (kernels, source), not by timing.
  test("a 200-step LSTM compiles to the kernels and source size of a 10-step one and gives the unrolled reference's outputs and gradients", async () => {
    const lstm = new LSTM(3, 4, { rng: new Rng(5), bidirectional: true });
    const [B, I] = [2, 3];
    const lowered = [10, 200].map((T) => lowerGraph(lstmGraph(lstm, { B, T, I }, false).graph));
    const [a, b] = lowered as [ReturnType<typeof lowerGraph>, ReturnType<typeof lowerGraph>];
    const source = (lg: typeof a) => printCppModule(lg.kernels.map((k) => k.func)).length + printGraphEntry(lg.plan).length;
    expect(b.kernels.length).toBe(a.kernels.length);
    expect(Math.abs(source(b) - source(a)) / source(a)).toBeLessThan(0.02);

    const T = 200;
    const scan = lstmGraph(lstm, { B, T, I }, false), ref = lstmGraph(lstm, { B, T, I }, true);
    const x = Tensor.fromArray(randn(B * T * I, new Rng(6)).map((v) => v * 0.5), [B, T, I]);
    const compiled = await compileGraph(scan.graph);
    const got = compiled.run(feedOf(scan.graph, scan.params, x));
    const want = interpret(ref.graph, asFeed(feedOf(ref.graph, ref.params, x))).outputs;
    got.forEach((t, k) => close(t.toArray(), want[k]!.data, 2e-4, `output ${k}`));
  }, 300_000);

  test("a symbolic number of steps: one compiled LSTM for every length", async () => {
    const lstm = new LSTM(2, 3, { rng: new Rng(8) });
    const scan = lstmGraph(lstm, { B: 2, T: "steps", I: 2 }, false);
    const compiled = await compileGraph(scan.graph);
    for (const T of [1, 5]) {
      const x = Tensor.fromArray(randn(2 * T * 2, new Rng(T)), [2, T, 2]);
      const ref = lstmGraph(lstm, { B: 2, T, I: 2 }, true);
      const want = interpret(ref.graph, asFeed(feedOf(ref.graph, ref.params, x))).outputs;
      compiled.run(feedOf(scan.graph, scan.params, x)).forEach((t, k) => close(t.toArray(), want[k]!.data, 1e-4, `T=${T} output ${k}`));
    }
  }, 300_000);
});

describe("training through a scan", () => {
  test("a compiled step of Embedding → bidirectional LSTM → Linear, symbolic steps, equals the interpreted step", async () => {
    const [B, V] = [3, 4];
    const make = () => {
      const rng = new Rng(21);
      const emb = new Embedding(V, 3, { rng }), lstm = new LSTM(3, 4, { rng, bidirectional: true }), head = new Linear(8, V, { rng });
      return new Sequential(emb, lstm, (h: Tracer) => h.mean([1]), head);
    };
    const spec = { x: { shape: ["batch", "steps"], dtype: "i32" as const }, y: { shape: ["batch"], dtype: "i32" as const } };
    const steps = [await compileStep(make(), crossEntropy, new Adam({ lr: 0.05 }), spec), await compileStep(make(), crossEntropy, new Adam({ lr: 0.05 }), spec, { executor: "interpreted" })];
    const rng = new Rng(22);
    for (const T of [3, 5, 2]) {
      const batch = { x: Tensor.fromArray(Array.from({ length: B * T }, () => rng.int(0, V)), [B, T], "i32"), y: Tensor.fromArray(Array.from({ length: B }, () => rng.int(0, V)), [B], "i32") };
      const [compiled, interpreted] = steps.map((step) => step(batch));
      expect(Math.abs(compiled! - interpreted!), `T=${T}: ${compiled} vs ${interpreted}`).toBeLessThan(1e-4);
    }
  }, 300_000);
});

export type { Value };
