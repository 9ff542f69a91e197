/** The default schedule's choice of parallel loops: small known stages stay serial. */
import { describe, expect, it } from "vitest";
import { add, call, div, int, sub, variable } from "../../../te/expr.ts";
import { compute, placeholder, reduceAxis, sum } from "../../../te/tensor.ts";
import { createSchedule } from "../../../schedule/schedule.ts";
import { defaultSchedule, MIN_PARALLEL_WORK } from "./default.ts";

function parallelLoops(shape: (number | ReturnType<typeof variable>)[], reduce?: number): number {
  const x = placeholder(reduce === undefined ? shape : [...shape, reduce], "f32", "x");
  const y = reduce === undefined
    ? compute(shape, (...i) => add(x.at(...i), x.at(...i)), "y")
    : compute(shape, (...i) => { const r = reduceAxis(reduce, "r"); return sum(r, x.at(...i, r.var)); }, "y");
  const s = createSchedule([y]);
  defaultSchedule(s, [y], 32, null);
  return [...s.stage(y).annotations.values()].filter((a) => a.forKind === "parallel").length;
}

describe("default cpu schedule", () => {
  it("runs a small stage of known size serially (a fork-join would cost more than its work)", () => {
    expect(parallelLoops([10, 50])).toBe(0);
    expect(parallelLoops([16, 64], 16)).toBe(0); // 16 384 + 1 024 iterations with the reduction
  });

  it("parallelises a stage at or above the threshold, counting reduction iterations", () => {
    expect(parallelLoops([256, 256])).toBe(1);
    expect(parallelLoops([64, 64], 64)).toBe(1); // 262 144 iterations
    expect(64 * 64 * 64).toBeGreaterThanOrEqual(MIN_PARALLEL_WORK);
  });

  it("parallelises a stage of symbolic size", () => {
    expect(parallelLoops([variable("n"), 4])).toBe(1);
  });

  it("computes a row reduction per row of its epilogue, but a column reduction (kept as [1, d]) once", () => {
    const n = 64, d = 32;
    const attachOf = (rows: boolean): string => {
      const x = placeholder([n, d], "f32", "x");
      const m = rows
        ? compute([n, 1], (i) => { const r = reduceAxis(d, "r"); return sum(r, x.at(i!, r.var)); }, "m")
        : compute([1, d], (_, j) => { const r = reduceAxis(n, "r"); return sum(r, x.at(r.var, j!)); }, "m");
      const y = compute([n, d], (i, j) => sub(x.at(i!, j!), rows ? m.at(i!, int(0)) : m.at(int(0), j!)), "y");
      const s = createSchedule([y]);
      defaultSchedule(s, [y], 32, null);
      return s.stage(m).attach.kind;
    };
    expect(attachOf(true)).toBe("at");
    expect(attachOf(false)).toBe("root");
  });

  it("computes a libm intermediate read by a reduction and another stage once into a buffer; a cheap one, a single reader or elementwise readers inline it", () => {
    const n = 64, d = 32;
    const attachOf = (fn: "exp" | "abs", readers: "sum" | "sum+div" | "two elementwise"): string => {
      const x = placeholder([n, d], "f32", "x");
      const e = compute([n, d], (i, j) => call(fn, x.at(i!, j!)), "e");
      const r = reduceAxis(d, "r");
      const t = compute([n], (i) => sum(r, readers === "two elementwise" ? x.at(i!, r.var) : e.at(i!, r.var)), "t");
      const u = compute([n, d], (i, j) => add(e.at(i!, j!), 1), "u");
      const y = compute([n, d], (i, j) => (readers === "sum" ? div(x.at(i!, j!), t.at(i!)) : readers === "sum+div" ? div(e.at(i!, j!), t.at(i!)) : div(e.at(i!, j!), u.at(i!, j!))), "y");
      const s = createSchedule([y]);
      defaultSchedule(s, [y], 32, null);
      return s.stage(e).attach.kind;
    };
    expect(attachOf("exp", "sum+div")).toBe("root");
    expect(attachOf("abs", "sum+div")).toBe("inline");
    expect(attachOf("exp", "sum")).toBe("inline");
    expect(attachOf("exp", "two elementwise")).toBe("inline");
  });

  it("keeps a reduction root when another computed stage reads it (found by the graph fuzzer: logsumexp feeding a second output)", async () => {
    const { parseGraph } = await import("../../../graph/text/parse.ts");
    const { compileGraph } = await import("../graph.ts");
    const { interpret } = await import("../../../graph/interpret.ts");
    const { Tensor } = await import("../../../../runtime/tensor.ts");
    const g = parseGraph(`graph main(x0: f32[3, 2, 4, 5]) {
      const t: f32[] = [0.386853963136673]
      relu.out: f32[3, 2, 4, 5] = relu(x0)
      logsumexp.out: f32[2, 4, 5] = logsumexp(x0, axes=[0], keepdims=false)
      greater.out: bool[2, 4, 5] = greater(logsumexp.out, t)
      neg.out: f32[2, 4, 5] = neg(logsumexp.out)
      where.out: f32[2, 4, 5] = where(greater.out, logsumexp.out, neg.out)
      relu_5.out: f32[2, 4, 5] = relu(where.out)
      return relu.out, relu_5.out
    }`);
    const x = Tensor.random([3, 2, 4, 5], "f32", 3);
    const got = (await compileGraph(g)).run([x]);
    const want = interpret(g, [{ data: x.data as Float32Array, shape: [3, 2, 4, 5] }]).outputs;
    want.forEach((w, k) => {
      const a = got[k]!.toArray();
      w.data.forEach((v, i) => expect(Math.abs(a[i]! - v)).toBeLessThan(1e-5 * (1 + Math.abs(v))));
    });
  }, 120_000);
});
