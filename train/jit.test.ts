/**
 * `lt.compile`: results against closed forms, named inputs, output structures, the
 * compile cache and input errors. The meaning is checked on the reference interpreter;
 * one test runs the default executor (the native compiler, or the interpreter under
 * LATHE_TRAIN_INTERPRET=1) to check that one compilation serves every batch size.
 */
import { describe, expect, test } from "vitest";
import { LatheError, ShapeError } from "../core/errors.ts";
import { Rng } from "../runtime/random.ts";
import { Tensor } from "../runtime/tensor.ts";
import { lt } from "./index.ts";
import { Parameter } from "./parameter.ts";

const INTERP = { executor: "interpreted" } as const;
const rand = (n: number, seed: number, lo = -1, hi = 1) => { const r = new Rng(seed); return Array.from({ length: n }, () => r.uniform(lo, hi)); };
/** Small integers, so rows have ties. */
const ints = (n: number, seed: number, lo = -2, hi = 3) => { const r = new Rng(seed); return Array.from({ length: n }, () => r.int(lo, hi)); };
const near = (got: readonly number[], want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => expect(Math.abs(g - want[i]!), `[${i}] ${g} vs ${want[i]}`).toBeLessThanOrEqual(tol * (1 + Math.abs(want[i]!))));
};
/** softmax(relu(x·w)) row by row, x [n, k], w [k, m], from the f32-rounded inputs. */
const mlpRef = (x: readonly number[], w: readonly number[], n: number, k: number, m: number) => {
  const h: number[] = [], y: number[] = [];
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: m }, (_, j) => Math.max(0, Array.from({ length: k }, (_, l) => Math.fround(x[i * k + l]!) * Math.fround(w[l * m + j]!)).reduce((a, b) => a + b, 0)));
    const z = row.reduce((a, v) => a + Math.exp(v), 0);
    h.push(...row);
    y.push(...row.map((v) => Math.exp(v) / z));
  }
  return { h, y };
};
/** Index of the first minimum of each row of x [rows, cols] (the op's tie rule). */
const argminRows = (x: readonly number[], rows: number, cols: number) => Array.from({ length: rows }, (_, i) => {
  let best = 0;
  for (let j = 1; j < cols; j++) if (x[i * cols + j]! < x[i * cols + best]!) best = j;
  return best;
});
const specs = { x: { shape: ["batch", 4] }, w: { shape: [4, 3] } } as const;

describe("lt.compile", () => {
  test("matmul + relu + softmax matches the closed form, in the structure fn returns", async () => {
    const x = rand(8, 1), w = rand(12, 2);
    const xt = Tensor.fromArray(x, [2, 4]), wt = Tensor.fromArray(w, [4, 3]);
    const want = mlpRef(x, w, 2, 4, 3);

    const single = lt.compile(({ x, w }) => x.matmul(w).relu().softmax(), specs, INTERP);
    const y: Tensor = await single({ x: xt, w: wt });
    expect(y.shape).toEqual([2, 3]);
    near(y.toArray(), want.y);

    const tuple = lt.compile(({ x, w }) => { const h = x.matmul(w).relu(); return [h.softmax(), h]; }, specs, INTERP);
    const [y2, h2]: [Tensor, Tensor] = await tuple({ x: xt, w: wt });
    near(y2.toArray(), want.y);
    near(h2.toArray(), want.h);

    const record = lt.compile(({ x, w }) => { const h = x.matmul(w).relu(); return { probs: h.softmax(), hidden: h, same: h }; }, specs, INTERP);
    const out: { probs: Tensor; hidden: Tensor; same: Tensor } = await record({ x: xt, w: wt });
    expect(Object.keys(out)).toEqual(["probs", "hidden", "same"]);
    near(out.probs.toArray(), want.y);
    near(out.hidden.toArray(), want.h);
    near(out.same.toArray(), want.h);
  });

  test("inputs are matched by name, not by the order of keys", async () => {
    const f = lt.compile(({ a, b }) => a.sub(b.mul(2)), { a: { shape: [3] }, b: { shape: [3] } }, INTERP);
    expect(f.inputNames).toEqual(["a", "b"]);
    const A = Tensor.fromArray([1, 2, 3], [3]), B = Tensor.fromArray([10, 20, 30], [3]);
    const want = [-19, -38, -57];
    expect((await f({ a: A, b: B })).toArray()).toEqual(want);
    expect((await f({ b: B, a: A })).toArray()).toEqual(want);
    expect((await f({ a: B, b: A })).toArray()).toEqual([8, 16, 24]);
  });

  test("one compilation serves every batch size of a symbolic dim (default executor)", async () => {
    const f = lt.compile(({ x, w }) => ({ y: x.matmul(w).relu().softmax(), lo: x.argmin(1) }), specs);
    expect(f.compilations).toBe(0);
    const w = rand(12, 3), wt = Tensor.fromArray(w, [4, 3]);
    // Two calls before the first compilation finishes share it.
    const firsts = await Promise.all([2, 2].map((n) => f({ x: Tensor.fromArray(ints(n * 4, 4), [n, 4]), w: wt })));
    expect(f.compilations).toBe(1);
    expect(firsts[0]!.lo.toArray()).toEqual(firsts[1]!.lo.toArray());
    for (const [n, seed] of [[2, 5], [5, 6], [1, 7]] as const) {
      const x = ints(n * 4, seed);
      const { y, lo } = await f({ x: Tensor.fromArray(x, [n, 4]), w: wt });
      expect(y.shape).toEqual([n, 3]);
      near(y.toArray(), mlpRef(x, w, n, 4, 3).y);
      expect(lo.dtype).toBe("i32");
      expect(lo.toArray()).toEqual(argminRows(x, n, 4));
    }
    expect(f.compilations).toBe(1);
    // A static dim stays static: another size is an error, not a recompile.
    await expect(f({ x: Tensor.zeros([2, 4]), w: Tensor.zeros([5, 3]) })).rejects.toThrow(/input w: dimension 0 must be 4, got 5/);
    expect(f.compilations).toBe(1);
  });

  test("parameters are fed their current values on every call", async () => {
    const p = new Parameter("scale", Tensor.fromArray([2], [1]));
    const f = lt.compile(({ x }) => x.mul(lt.param(p)), { x: { shape: [2] } }, INTERP);
    const x = Tensor.fromArray([1, -3], [2]);
    expect((await f({ x })).toArray()).toEqual([2, -6]);
    p.value = Tensor.fromArray([-1], [1]);
    expect((await f({ x })).toArray()).toEqual([-1, 3]);
    expect(f.compilations).toBe(1);
  });

  test("wrong inputs are one-line errors that name the input", async () => {
    const f = lt.compile(({ x, w }) => x.matmul(w), specs, INTERP);
    const x = Tensor.zeros([2, 4]), w = Tensor.zeros([4, 3]);
    const fails = async (call: Promise<unknown>, type: typeof LatheError, msg: RegExp) => {
      const e = await call.then(() => null, (err: unknown) => err);
      expect(e).toBeInstanceOf(type);
      expect((e as Error).message).toMatch(msg);
      expect((e as Error).message).not.toContain("\n");
    };
    // @ts-expect-error w is required
    await fails(f({ x }), LatheError, /missing input w \(inputs: x, w\)/);
    // @ts-expect-error b is not an input
    await fails(f({ x, w, b: w }), LatheError, /unknown input b \(inputs: x, w\)/);
    await fails(f({ x: Tensor.zeros([2, 4], "f64"), w }), ShapeError, /input x: expected dtype f32\[batch, 4\], got f64\[2, 4\]/);
    await fails(f({ x: Tensor.zeros([8]), w }), ShapeError, /input x: expected 2 dimensions \[batch, 4\], got \[8\]/);
    await fails(f({ x, w: Tensor.zeros([4, 3, 1]) }), ShapeError, /input w: expected 2 dimensions/);
    const g = lt.compile(({ a, b }) => a.add(b), { a: { shape: ["n"] }, b: { shape: ["n"] } }, INTERP);
    await fails(g({ a: Tensor.zeros([2]), b: Tensor.zeros([3]) }), ShapeError, /input b: dimension 0 \(n\) is 3, but n = 2/);
    expect(f.compilations).toBe(0);
  });

  test("misuse of fn is diagnosed when lt.compile traces it", () => {
    // @ts-expect-error fn must return traced values
    expect(() => lt.compile(() => 3, {})).toThrow(/must return a Tracer, an array of Tracers or a record of Tracers, got a number/);
    // @ts-expect-error a record of traced values
    expect(() => lt.compile(({ x }) => ({ y: x, z: 1 }), { x: { shape: [2] } })).toThrow(/output "z" is a number, not a traced value/);
    expect(() => lt.compile(() => [], {})).toThrow(/returned no outputs/);
    expect(() => lt.compile(({ x, w }) => w.matmul(x), specs)).toThrow(ShapeError);
    const s = new Parameter("s", Tensor.zeros([2]), false);
    expect(() => lt.compile(({ x }) => { lt.assign(s, x); return x; }, { x: { shape: [2] } })).toThrow(/assigns the state parameter\(s\) s/);
  });
});
