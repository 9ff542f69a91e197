import { describe, expect, test } from "vitest";
import { add, floordiv, floormod, int, mul, variable } from "../../te/expr.ts";
import { compute, placeholder } from "../../te/tensor.ts";
import { createSchedule } from "../../schedule/schedule.ts";
import { lowerSchedule } from "../lower.ts";
import { makeBuffer } from "../buffer.ts";
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

  test("loop partitioning removes the guard from all but the last iteration", () => {
    const f = runPasses(scaled(), [flattenStorage, simplifyPass, loopPartition], { printAfter: [] });
    const loops = stmts(f, "for").filter((s) => s.kind === "for" && s.loopVar.name === "j.o");
    expect(loops.map((l) => l.kind === "for" && [l.min, l.extent].map((e) => (e.kind === "const" ? e.value : -1)))).toEqual([[0, 4], [4, 1]]);
    // Only the tail keeps the guard.
    const head = loops[0]!;
    expect(stmts({ ...f, body: head }, "if")).toHaveLength(0);
    expect(stmts(f, "if")).toHaveLength(1);
  });

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

  test("the pass manager prints after the named passes, saying when one changed nothing", () => {
    const out: string[] = [];
    runPasses(scaled(false), [flattenStorage, vectorizePass(64)], { printAfter: ["vectorize", "flatten"], log: (t) => out.push(t) });
    expect(out[0]).toMatch(/^\/\/ after flatten\nfunc scaled/);
    expect(out[1]).toBe("// after vectorize (unchanged)\n");
  });
});
