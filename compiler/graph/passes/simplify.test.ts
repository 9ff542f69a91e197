import { describe, expect, test } from "vitest";
import type { Graph } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { diffGraphs } from "../text/diff.ts";
import { parseGraph } from "../text/parse.ts";
import { printGraph } from "../text/print.ts";
import { graphProblems } from "../validate.ts";
import { deadCodeElimination } from "./dce.ts";
import { rewrite } from "./rewrite.ts";
import { simplifyRules } from "./simplify.ts";

/** Simplify (then dce, so the expected graph need not list dead nodes), recording the rules that fired. */
function simplifyAndTrim(g: Graph): { out: Graph; fired: string[] } {
  const fired: string[] = [];
  const out = deadCodeElimination(rewrite(g, simplifyRules, { onFire: (r) => fired.push(r) }));
  expect(graphProblems(out)).toEqual([]);
  return { out, fired };
}

function expectGraph(got: Graph, want: string): void {
  expect(diffGraphs(got, parseGraph(want)), printGraph(got, { inlineConstants: 16 })).toBeNull();
}

/**
 * Simplification is exact: bit-identical outputs on inputs that include zeros, negatives,
 * ±0 and NaN (all exact in f32: the interpreter does not round graph inputs to their dtype).
 */
function expectSameValues(a: Graph, b: Graph): void {
  const pool = [0, -0, 1, -1, 2.5, -3.25, 2 ** -10, 7, NaN, -0.5, 4, 0.125];
  const x = a.inputs.map((v, k) => {
    const shape = v.type.shape as number[];
    const n = shape.reduce((s, d) => s * d, 1);
    return { data: Array.from({ length: n }, (_, i) => pool[(i * 5 + k * 3) % pool.length]!), shape };
  });
  const ra = interpret(a, x).outputs, rb = interpret(b, x).outputs;
  rb.forEach((o, k) => o.data.forEach((v, i) => expect(Object.is(v, ra[k]!.data[i]) || v === ra[k]!.data[i], `output ${k}[${i}]: ${v} vs ${ra[k]!.data[i]}`).toBe(true)));
}

describe("simplify: identities, each checked by value against the original graph", () => {
  test("x*1, 1*x, x+0, 0+x, x-0, x/1 with constants recognized by value (any shape that keeps x's type), and ones_like", () => {
    const g = parseGraph(`graph g(x: f32[2, 3]) {
      const one: f32[] = [1]
      const ones: f32[3] = [1, 1, 1]
      const zero: f32[1, 3] = [0, 0, 0]
      a = mul(x, one)
      b = mul(ones, a)
      c = add(b, zero)
      d = add(zero, c)
      e = sub(d, zero)
      f = div(e, ones)
      o = ones_like(x)
      h = mul(f, o)
      return h
    }`);
    const { out, fired } = simplifyAndTrim(g);
    expectGraph(out, `graph g(x: f32[2, 3]) { return x }`);
    expect(fired).toEqual(["mul-one", "mul-one", "add-zero", "add-zero", "sub-zero", "div-one", "mul-one"]);
    expectSameValues(g, out);
  });

  test("what must stay: broadcasting to a bigger shape, 0-x, 1/x, constants that are not all ones, exp(log(x))", () => {
    const text = `graph g(x: f32[3]) {
      const ones: f32[2, 3] = [1, 1, 1, 1, 1, 1]
      const zero: f32[] = [0]
      const mixed: f32[3] = [1, 1, 2]
      a = mul(x, ones)
      b = sub(zero, x)
      c = div(ones, x)
      d = mul(x, mixed)
      l = log(x)
      e = exp(l)
      return a, b, c, d, e
    }`;
    const g = parseGraph(text);
    expect(rewrite(g, simplifyRules)).toBe(g); // nothing fired: the same graph object
  });

  test("neg(neg(x)) is x; cast to x's own dtype is x, to another dtype stays", () => {
    const g = parseGraph(`graph g(x: f32[4]) {
      a = neg(x)
      b = neg(a)
      c = cast(b, dtype="f32")
      d = cast(c, dtype="f64")
      return c, d
    }`);
    const { out, fired } = simplifyAndTrim(g);
    expectGraph(out, `graph g(x: f32[4]) {
      d = cast(x, dtype="f64")
      return x, d
    }`);
    expect(fired).toEqual(["neg-neg", "cast-same"]);
    expectSameValues(g, out);
  });

  test("reshape(reshape(x)) is one reshape keeping the outer node's name; back to x's shape it is x", () => {
    const g = parseGraph(`graph g(x: f32[2, 6]) {
      r1 = reshape(x, shape=[3, 4])
      r2 = reshape(r1, shape=[0, 2, 2])
      r3 = reshape(r2, shape=[2, -1])
      return r2, r3
    }`);
    const { out, fired } = simplifyAndTrim(g);
    // r2's 0 copies r1's 3; from x it would copy 2 and not type-check, so r2 stays.
    // r3 folds twice, down to reshape(x, [2, -1]), which is x itself.
    expect(fired).toEqual(["reshape-reshape", "reshape-reshape", "reshape-same"]);
    expectGraph(out, `graph g(x: f32[2, 6]) {
      r1 = reshape(x, shape=[3, 4])
      r2 = reshape(r1, shape=[0, 2, 2])
      return r2, x
    }`);
    expectSameValues(g, out);

    const h = parseGraph(`graph g(x: f32[batch, 6]) {
      r1 = reshape(x, shape=[0, 2, 3])
      r2 = reshape(r1, shape=[0, 3, 2])
      r3 = reshape(r2, shape=[0, 6])
      return r2, r3
    }`);
    const s = simplifyAndTrim(h);
    expect(s.fired).toEqual(["reshape-reshape", "reshape-reshape", "reshape-same"]);
    expectGraph(s.out, `graph g(x: f32[batch, 6]) {
      r2 = reshape(x, shape=[0, 3, 2])
      return r2, x
    }`);
  });

  test("transpose(transpose(x)) is one transpose with the composed permutation, or x", () => {
    const g = parseGraph(`graph g(x: f32[2, 3, 4]) {
      t1 = transpose(x, perm=[1, 2, 0])
      t2 = transpose(t1, perm=[1, 2, 0])
      u1 = transpose(x)
      u2 = transpose(u1)
      v1 = transpose(x, perm=[2, 0, 1])
      v2 = transpose(v1, perm=[1, 2, -3])
      w = transpose(x, perm=[0, 1, 2])
      return t2, u2, v2, w
    }`);
    const { out, fired } = simplifyAndTrim(g);
    expect(fired).toEqual(["transpose-transpose", "transpose-transpose", "transpose-transpose", "transpose-identity"]);
    expectGraph(out, `graph g(x: f32[2, 3, 4]) {
      t2 = transpose(x, perm=[2, 0, 1])
      return t2, x, x, x
    }`);
    expectSameValues(g, out);
  });

  test("a product of a last-two-axes transpose reads the operand in place (transA / transB flipped)", () => {
    const g = parseGraph(`graph g(x: f32[3, 4], w: f32[5, 4], b: f32[2, 3, 4], c: f32[2, 4, 5], q: f32[5, 2]) {
      wt = transpose(w, perm=[1, 0])
      y = matmul(x, wt)
      xt = transpose(x)
      z = matmul(xt, x)
      bt = transpose(b, perm=[0, 2, 1])
      v = batch_matmul(bt, c, transA=true)
      pt = transpose(c, perm=[1, 0, 2])
      u = matmul(pt, q)
      return y, z, v, u, wt
    }`);
    const { out, fired } = simplifyAndTrim(g);
    expect(fired).toEqual(["matmul-transpose-B", "matmul-transpose-A", "batch_matmul-transpose-A"]);
    expectGraph(out, `graph g(x: f32[3, 4], w: f32[5, 4], b: f32[2, 3, 4], c: f32[2, 4, 5], q: f32[5, 2]) {
      wt = transpose(w, perm=[1, 0])
      y = matmul(x, w, transB=true)
      z = matmul(x, x, transA=true)
      v = batch_matmul(b, c, transA=false)
      pt = transpose(c, perm=[1, 0, 2])
      u = matmul(pt, q)
      return y, z, v, u, wt
    }`);
    expectSameValues(g, out);
  });

  test("chains collapse in one run, and the rewritten graph keeps surviving names", () => {
    const g = parseGraph(`graph g(x: f32[2, 2]) {
      const one: f32[] = [1]
      t1 = transpose(x)
      t2 = transpose(t1)
      t3 = transpose(t2)
      m = mul(t3, one)
      n1 = neg(m)
      n2 = neg(n1)
      y = relu(n2)
      return y
    }`);
    const { out } = simplifyAndTrim(g);
    // t2 is x, so t3 reads x and stays as written.
    expectGraph(out, `graph g(x: f32[2, 2]) {
      t3 = transpose(x)
      y = relu(t3)
      return y
    }`);
    expectSameValues(g, out);
  });
});
