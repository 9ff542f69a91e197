import { describe, expect, test } from "vitest";
import type { Graph } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { diffGraphs } from "../text/diff.ts";
import { parseGraph } from "../text/parse.ts";
import { printGraph } from "../text/print.ts";
import { graphProblems } from "../validate.ts";
import { foldConstants } from "./fold-constants.ts";

function expectGraph(got: Graph, want: string): void {
  expect(diffGraphs(got, parseGraph(want)), printGraph(got, { inlineConstants: 16 })).toBeNull();
  expect(graphProblems(got)).toEqual([]);
}

describe("fold-constants", () => {
  test("chains of constant nodes become constants with the values' names; the rest stays", () => {
    const g = parseGraph(`graph g(x: f32[2, 3]) {
      const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]
      const s: f32[] = [0.5]
      wt = transpose(w)
      ws = mul(wt, s)
      y = add(x, ws)
      return y, ws
    }`);
    const out = foldConstants(g);
    // wt[i][j] = w[j][i]; ws = wt / 2, computed by hand.
    expectGraph(out, `graph g(x: f32[2, 3]) {
      const w: f32[3, 2] = [1, 2, 3, 4, 5, 6]
      const s: f32[] = [0.5]
      const wt: f32[2, 3] = [1, 3, 5, 2, 4, 6]
      const ws: f32[2, 3] = [0.5, 1.5, 2.5, 1, 2, 3]
      y = add(x, ws)
      return y, ws
    }`);
    expect(out.constants[3]!.value).toBe(g.nodes[1]!.outputs[0]); // the very value object survives
    const x = { data: [1, 2, 3, 4, 5, 6], shape: [2, 3] };
    expect([...interpret(out, [x]).outputs[0]!.data]).toEqual([1.5, 3.5, 5.5, 5, 7, 9]);
    expect(foldConstants(out)).toBe(out);
  });

  test("several outputs, reductions and integer, i64 and f16 data keep their dtypes exactly", () => {
    const g = parseGraph(`graph g() {
      const m: f32[2, 2] = [1, 2, 3, 4]
      const a: i32[3] = [1, -2, 2147483647]
      const l: i64[2] = [9007199254740993, -7]
      const h: f16[2] = [1, 0.5]
      s0, s1 = split(m, axis=1, sizes=[1, 1])
      t = sum(m, axes=[0])
      na = neg(a)
      nl = neg(l)
      hh = add(h, h)
      return s0, s1, t, na, nl, hh
    }`);
    const out = foldConstants(g);
    expect(out.nodes).toEqual([]);
    const data = Object.fromEntries(out.constants.map((c) => [c.value.name, c.data]));
    expect(data["s0"]).toEqual(Float32Array.from([1, 3]));
    expect(data["s1"]).toEqual(Float32Array.from([2, 4]));
    expect(data["t"]).toEqual(Float32Array.from([4, 6]));
    expect(data["na"]).toEqual(Int32Array.from([-1, 2, -2147483647]));
    // i64 goes through f64 in the interpreter: exact up to 2^53 (9007199254740993 is not).
    expect(data["nl"]).toEqual(BigInt64Array.from([-9007199254740992n, 7n]));
    expect(data["hh"]).toEqual(Uint16Array.from([0x4000, 0x3c00])); // f16 bits of 2 and 1
    expect(out.outputs.map((v) => v.name)).toEqual(["s0", "s1", "t", "na", "nl", "hh"]);
  });

  test("results over the size limit stay nodes", () => {
    const g = parseGraph(`graph g() {
      const one: f32[] = [1]
      big = expand(one, shape=[1001, 1000])
      small = expand(one, shape=[2, 3])
      return big, small
    }`);
    const out = foldConstants(g); // default limit 1e6 elements
    expect(out.nodes.map((n) => n.name)).toEqual(["big"]);
    expect(out.constants.map((c) => c.value.name)).toEqual(["one", "small"]);
    expect(foldConstants(g, { maxElements: 5 }).nodes.map((n) => n.name)).toEqual(["big", "small"]);
  });

  test("over the limit, a transpose or reshape of a constant nothing else reads folds anyway (same size, the copy goes); one with another reader does not", () => {
    const g = parseGraph(`graph g(x: f32[3, 2]) {
      const w: f32[2, 3] = [1, 2, 3, 4, 5, 6]
      const v: f32[2, 3] = [1, 2, 3, 4, 5, 6]
      wt = transpose(w, perm=[1, 0])
      vt = transpose(v, perm=[1, 0])
      vr = reshape(v, shape=[3, 2])
      a = add(x, wt)
      b = add(vt, vr)
      return a, b
    }`);
    const out = foldConstants(g, { maxElements: 5 });
    expect(out.nodes.map((n) => n.name)).toEqual(["vt", "vr", "a", "b"]);
    expect(out.constants.map((c) => c.value.name)).toEqual(["w", "v", "wt"]);
    const x = { data: [0.5, -1, 2, 0, 3, 1], shape: [3, 2] };
    expect(interpret(out, [x]).outputs[0]!.data).toEqual(interpret(g, [x]).outputs[0]!.data);
    expect(Array.from(out.constants[2]!.data as Float32Array)).toEqual([1, 4, 2, 5, 3, 6]);
  });

  test("dropout is random: never folded, even with constant inputs", () => {
    const g = parseGraph(`graph g() {
      const x: f32[4] = [1, 2, 3, 4]
      const step: i32[] = [0]
      d = dropout(x, step, rate=0.5, seed=1)
      e = neg(x)
      return d, e
    }`);
    const out = foldConstants(g);
    expect(out.nodes.map((n) => n.op)).toEqual(["dropout"]);
    expect(out.constants.map((c) => c.value.name)).toEqual(["x", "step", "e"]);
  });
});
