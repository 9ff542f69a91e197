import { describe, expect, test } from "vitest";
import { add, and, floordiv, floormod, ge, int, lt, max, mul, select, sub, variable, type Expr } from "../../te/expr.ts";
import { build } from "../../driver/kernel.ts";
import { evaluate } from "../../te/evaluate.ts";
import { compute, placeholder } from "../../te/tensor.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { lowerSchedule } from "../lower.ts";
import { makeBuffer } from "../../te/buffer.ts";
import { printFunc } from "../print.ts";
import { runPasses } from "../pass.ts";
import type { PrimFunc, Stmt } from "../stmt.ts";
import { visitStmt } from "../stmt.ts";
import { flattenStorage } from "./flatten.ts";
import { loopPartition } from "./loop-partition.ts";
import { lowerIntDiv } from "./lower-int-div.ts";
import { simplifyPass } from "./simplify.ts";
import { unroll } from "./unroll.ts";
import { vectorizePass } from "./vectorize.ts";

const stmts = (f: PrimFunc, kind: Stmt["kind"]): Stmt[] => {
  const out: Stmt[] = [];
  visitStmt(f.body, (s) => { if (s.kind === kind) out.push(s); });
  return out;
};

/** B[i, j] = A[i, j] * 2 over 10×37, j split by 8 (a tail of 5), ji vectorized. */
function scaled(vec = true) {
  const A = placeholder([10, 37], "f32", "A");
  const B = compute([10, 37], (i, j) => mul(A.at(i, j), 2), "B");
  const s = createSchedule(B);
  const b = s.stage(B);
  const [, ji] = b.split(b.axis[1]!, { factor: 8 });
  if (vec) b.vectorize(ji);
  return lowerSchedule(s, [A, B], "scaled");
}

describe("loop-IR passes", () => {
  test("lowering guards the split tail; flatten gives one row-major index", () => {
    const f = runPasses(scaled(), [flattenStorage], { printAfter: [] });
    const ifs = stmts(f, "if");
    expect(ifs).toHaveLength(1);
    for (const s of stmts(f, "store")) if (s.kind === "store") expect(s.indices).toHaveLength(1);
    expect(printFunc(f)).toContain("((i * 37) + ((j.o * 8) + j.i))");
  });

  test("loop partitioning removes the guard: a guard-free head, and a tail shortened to the 5 columns left", () => {
    const f = runPasses(scaled(), [flattenStorage, simplifyPass, loopPartition], { printAfter: [] });
    const loops = stmts(f, "for").filter((s) => s.kind === "for" && s.loopVar.name === "j.o");
    // The head's four 8-column tiles; the one-iteration tail is simplified in place (j.o = 4).
    expect(loops.map((l) => l.kind === "for" && [l.min, l.extent].map((e) => (e.kind === "const" ? e.value : -1)))).toEqual([[0, 4]]);
    expect(stmts(f, "if")).toHaveLength(0);
    const inner = stmts(f, "for").filter((s) => s.kind === "for" && s.loopVar.name === "j.i");
    expect(inner.map((l) => l.kind === "for" && l.extent.kind === "const" ? l.extent.value : -1)).toEqual([8, 5]);
  });

  test("a padded copy: rows and columns cut at the border tests, the interior branch-free and vectorized", async () => {
    // P[i, j] = relu(A[i − 1, j − 1]) inside, 0 on a one-element border; 34×34 of a 32×32 A,
    // columns vectorized 32 wide (two 16-lane registers at 64 bytes).
    const A = placeholder([32, 32], "f32", "A");
    const inside = (v: Expr, n: number): Expr => and(ge(v, 1), lt(v, n + 1));
    const P = compute([34, 34], (i, j) => select(and(inside(i, 32), inside(j, 32)), max(A.at(sub(i, 1), sub(j, 1)), 0), 0), "P");
    const sch = createSchedule(P);
    const p = sch.stage(P);
    const [, ji] = p.split(p.axis[1]!, { factor: 32 });
    p.vectorize(ji);
    const passes = [flattenStorage, simplifyPass, loopPartition, simplifyPass, vectorizePass(64), loopPartition, unroll, simplifyPass];
    const f = runPasses(lowerSchedule(sch, [A, P], "pad"), passes, { printAfter: [] });
    const text = printFunc(f);
    expect(text).toMatch(/P\[ramp\([^\n]*, 1, 16\)\] = max\(A\[ramp/); // an interior vector with no select
    // Selects survive only where a border test cannot be decided for a whole piece: none here.
    expect(text).not.toContain("select(");
    const k = await build(sch, [A, P], { name: "pad_copy" });
    const a = Float32Array.from({ length: 32 * 32 }, (_, n) => Math.sin(n) * 3);
    const got = new Float32Array(34 * 34).fill(Number.NaN);
    k.run(a, got);
    const want = evaluate([P], new Map([[A, a]])).get(P)!;
    expect(Array.from(got)).toEqual(Array.from(want, (v) => Math.fround(v)));
  }, 60_000);

  test("vectorize turns the guard-free loop into ramps and leaves the guarded tail scalar", () => {
    const f = runPasses(scaled(), [flattenStorage, simplifyPass, loopPartition, vectorizePass(64)], { printAfter: [] });
    const text = printFunc(f);
    expect(text).toContain("ramp(");
    expect(text).toContain("x8(2f32)");
    const vecLoops = stmts(f, "for").filter((s) => s.kind === "for" && s.forKind === "vectorized");
    expect(vecLoops).toHaveLength(0); // vectorized loops are gone: lanes now, or serial in the tail
  });

  test("a vector wider than the register width becomes unrolled register-wide pieces", () => {
    const f = runPasses(scaled(), [flattenStorage, simplifyPass, loopPartition, vectorizePass(16), unroll, simplifyPass], { printAfter: [] });
    const text = printFunc(f);
    expect(text).toContain("ramp(");
    expect(text).not.toContain(", 8)"); // no 8-lane ramps at 16 bytes (4 f32 lanes)
    expect(text).toMatch(/ramp\([^\n]*, 1, 4\)/);
  });

  test("unroll repeats the body with the variable substituted", () => {
    const A = placeholder([4], "f32", "A");
    const B = compute([4], (i) => mul(A.at(i), 3), "B");
    const s = createSchedule(B);
    s.stage(B).unroll(s.stage(B).axis[0]!);
    const f = runPasses(lowerSchedule(s, [A, B], "u"), [flattenStorage, unroll, simplifyPass], { printAfter: [] });
    expect(stmts(f, "for")).toHaveLength(0);
    expect(stmts(f, "store")).toHaveLength(4);
    expect(printFunc(f)).toContain("B[3] = (A[3] * 3f32)");
  });

  test("floor division of a provably non-negative value becomes C division; others stay", () => {
    const i = variable("i"), x = variable("x");
    const buf = makeBuffer("O", "i32", [int(8)]);
    const f: PrimFunc = {
      name: "d", params: [buf], sizeVars: [],
      body: { kind: "for", loopVar: i, min: int(0), extent: int(8), forKind: "serial",
        body: { kind: "store", buffer: buf, indices: [i], value: add(floordiv(add(i, 3), 4), floormod(x, 4)) } },
    };
    const text = printFunc(runPasses(f, [lowerIntDiv], { printAfter: [] }));
    expect(text).toContain("((i + 3) /t 4)");
    expect(text).toContain("(x % 4)");
  });

  test("a symbolic trip count: a guard on an invariant bound is cut at a symbolic point; one on a value bound inside the loop is kept", () => {
    const i = variable("i"), n = variable("n"), m = variable("m");
    const buf = makeBuffer("O", "i32", [n]);
    const store: Stmt = { kind: "store", buffer: buf, indices: [i], value: int(1) };
    const loop = (body: Stmt): PrimFunc => ({
      name: "p", params: [buf], sizeVars: [],
      body: { kind: "for", loopVar: i, min: int(0), extent: floordiv(add(n, 5), 6), forKind: "serial", body },
    });
    const invariant = printFunc(loopPartition.run(loop({ kind: "if", cond: lt(add(mul(i, 6), 5), n), then: store, else: null })));
    expect(invariant.match(/for i in/g)).toHaveLength(2);
    expect(invariant.match(/if \(/g)).toHaveLength(1); // only the rest keeps it
    const viaLet = loop({ kind: "let", v: m, value: sub(n, mul(i, 7)), body: { kind: "if", cond: lt(mul(i, 6), m), then: store, else: null } });
    expect(printFunc(loopPartition.run(viaLet))).toBe(printFunc(viaLet));
  });

  test("the pass manager prints after the named passes, saying when one changed nothing", () => {
    const out: string[] = [];
    runPasses(scaled(false), [flattenStorage, vectorizePass(64)], { printAfter: ["vectorize", "flatten"], log: (t) => out.push(t) });
    expect(out[0]).toMatch(/^\/\/ after flatten\nfunc scaled/);
    expect(out[1]).toBe("// after vectorize (unchanged)\n");
  });
});
