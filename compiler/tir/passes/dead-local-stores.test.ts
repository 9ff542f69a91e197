import { describe, expect, test } from "vitest";
import { add, floordiv, int, mul, variable, type Expr, type Var } from "../../te/expr.ts";
import { compute, placeholder, reduceAxis, sum } from "../../te/tensor.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { defaultSchedule } from "../../targets/cpu/schedules/default.ts";
import { lower } from "../../driver/kernel.ts";
import { checkKernel, randomInputs } from "../../../test/helpers/check.ts";
import { cpuTarget } from "../../targets/cpu/index.ts";
import { hostVectorBytes } from "../../targets/cpu/host.ts";
import { makeBuffer, type Buffer } from "../../te/buffer.ts";
import type { PrimFunc, Stmt } from "../stmt.ts";
import { seq, visitStmt } from "../stmt.ts";
import { deadLocalStores, localStoreCount, mayOverlap } from "./dead-local-stores.ts";

const ramp = (base: Expr, lanes: number): Expr => ({ kind: "ramp", base, stride: int(1), lanes, dtype: "i32" });
const load = (b: Buffer, index: Expr, lanes = 1): Expr => ({ kind: "load", buffer: b, indices: [index], dtype: b.dtype, lanes });
const store = (b: Buffer, index: Expr, value: Expr): Stmt => ({ kind: "store", buffer: b, indices: [index], value });
const loop = (v: Var, extent: number, body: Stmt): Stmt => ({ kind: "for", loopVar: v, min: int(0), extent: int(extent), forKind: "serial", body });
const func = (body: Stmt, params: Buffer[]): PrimFunc => ({ name: "f", params, body, sizeVars: [] });

/** acc[128] local: each of `rows` rows accumulates two 16-lane vectors (at r·64 and r·64 + 16); `readOut` copies what is read out. */
function tile(readOut: (acc: Buffer, out: Buffer, x: Buffer) => Stmt) {
  const acc = makeBuffer("acc", "f32", [int(128)], "local");
  const x = makeBuffer("x", "f32", [int(64)]), out = makeBuffer("out", "f32", [int(128)]);
  const k = variable("k");
  const accumulate = (at: number) => store(acc, ramp(int(at), 16), { kind: "bin", op: "add", a: load(acc, ramp(int(at), 16), 16), b: load(x, ramp(k, 16), 16), dtype: "f32", lanes: 16 });
  const zero = (at: number) => store(acc, ramp(int(at), 16), { kind: "broadcast", value: { kind: "const", value: 0, dtype: "f32" }, lanes: 16, dtype: "f32" });
  const body: Stmt = {
    kind: "allocate", buffer: acc,
    body: seq(zero(0), zero(16), zero(64), zero(80), loop(k, 8, seq(accumulate(0), accumulate(16), accumulate(64), accumulate(80))), readOut(acc, out, x)),
  };
  return func(body, [x, out]);
}

describe("dead local stores", () => {
  test("index sets: disjoint intervals, disjoint residues, and what must be assumed to overlap", () => {
    const aff = (c: number, ...terms: [number, number, number][]) => ({ c, terms: terms.map(([coef, lo, hi]) => ({ coef, lo, hi })) });
    expect(mayOverlap(aff(0, [1, 0, 15]), aff(16, [1, 0, 15]))).toBe(false); // [0, 15] and [16, 31]
    expect(mayOverlap(aff(0, [1, 0, 16]), aff(16, [1, 0, 15]))).toBe(true);
    // r·64 + [0, 4) for r < 8 against 16 + [0, 16): residues 0–3 and 16–31 modulo 64
    expect(mayOverlap(aff(0, [64, 0, 7], [1, 0, 3]), aff(16, [1, 0, 15]))).toBe(false);
    expect(mayOverlap(aff(0, [64, 0, 7], [1, 0, 3]), aff(64, [1, 0, 15]))).toBe(true);
    // residues that wrap around the modulus: 60–67 mod 64 covers 60–63 and 0–3
    expect(mayOverlap(aff(60, [64, 0, 3], [1, 0, 7]), aff(130))).toBe(true); // 130 = 124 + 6
    expect(mayOverlap(aff(60, [64, 0, 3], [1, 0, 7]), aff(72, [1, 0, 40]))).toBe(false); // residues 8–48
    // an unknown range or a non-affine index overlaps everything
    expect(mayOverlap(aff(0, [1, 0, 3]), { c: 100, terms: [{ coef: 1, lo: null, hi: null }] })).toBe(true);
    expect(mayOverlap(null, aff(0))).toBe(true);
  });

  test("accumulators no read reaches are removed, with their initialisation; the ones read out stay", () => {
    const i = variable("i");
    // out[i·64 + 0..3] = acc[i·64 + 0..3], i < 2: only the vectors at 0 and 64 are read
    const f = tile((acc, out) => loop(i, 2, store(out, ramp(mul(i, int(64)), 4), load(acc, ramp(mul(i, int(64)), 4), 4))));
    expect(localStoreCount(f.body)).toBe(8);
    const g = deadLocalStores.run(f);
    expect(localStoreCount(g.body)).toBe(4);
    const kept: number[] = [];
    visitStmt(g.body, (s) => {
      const at = s.kind === "store" && s.buffer.scope === "local" ? s.indices[0]! : null;
      if (at?.kind === "ramp" && at.base.kind === "const") kept.push(at.base.value);
    });
    expect([...new Set(kept)].sort((a, b) => a - b)).toEqual([0, 64]);
  });

  test("a read it cannot analyse keeps every store (non-affine index)", () => {
    const i = variable("i");
    const f = tile((acc, out) => loop(i, 4, store(out, i, load(acc, floordiv(mul(i, i), int(3))))));
    expect(deadLocalStores.run(f)).toBe(f);
  });

  test("a read through a live store keeps what it reads; nothing read at all leaves an empty allocation out", () => {
    const i = variable("i");
    // acc[96 + i] = acc[16 + i] (a live store, read out below) keeps the vector at 16.
    const f = tile((acc, out) => seq(
      loop(i, 4, store(acc, add(i, int(96)), load(acc, add(i, int(16))))),
      loop(i, 4, store(out, i, load(acc, add(i, int(96))))),
    ));
    const g = deadLocalStores.run(f);
    expect(localStoreCount(g.body)).toBe(3); // zero(16), accumulate(16), the copy to 96
    const none = deadLocalStores.run(tile(() => ({ kind: "nop" })));
    expect(none.body.kind).toBe("nop");
  });

  test("a GEMM whose last column panel is partial computes only the vectors it stores, and still equals the product", async () => {
    const lanes = hostVectorBytes() / 4;
    const [M, K, N] = [7, 24, 4 * lanes + 4]; // the default 4-vector panel leaves a 4-column tail
    const A = placeholder([M, K], "f32", "A"), B = placeholder([K, N], "f32", "B");
    const k = reduceAxis(K, "k");
    const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
    const s = createSchedule(C);
    defaultSchedule(s, [C], hostVectorBytes(), C);
    const without = lower(s, [A, B, C], { target: { ...cpuTarget, passes: cpuTarget.passes.filter((p) => p !== deadLocalStores) } });
    const withPass = lower(s, [A, B, C]);
    expect(localStoreCount(withPass.body)).toBeLessThan(localStoreCount(without.body));
    await checkKernel(s, [A, B, C], randomInputs([A, B], 7), { name: "gemm_tail" }); // against the TE evaluator
  }, 60_000);
});
