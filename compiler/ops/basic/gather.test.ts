import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { Rng, arr, expectClose, get, rand, run1, vjpValues } from "./testing.ts";

const idx = (shape: number[], data: number[]) => ({ shape, data, dtype: "i32" as const });

describe("gather", () => {
  test("axis 0 with a 2-D index tensor, negative indices wrap", () => {
    const x = rand(new Rng(1), [4, 3]);
    const i = idx([2, 2], [3, 0, -1, 1]);
    const want = arr([2, 2, 3], ([a, b, c]) => get(x, [[3, 0, 3, 1][a! * 2 + b!]!, c!]));
    expectClose(run1("gather", [x, i]), want);
  });

  test("axis -1 and a scalar index", () => {
    const x = rand(new Rng(2), [2, 3, 4]);
    expectClose(run1("gather", [x, idx([3], [1, 1, 3])], { axis: -1 }), arr([2, 3, 3], ([a, b, c]) => get(x, [a!, b!, [1, 1, 3][c!]!])));
    expectClose(run1("gather", [x, idx([], [2])], { axis: 1 }), arr([2, 4], ([a, c]) => get(x, [a!, 2, c!])));
  });

  test("an out-of-range index is an error, not a silent read", () => {
    expect(() => run1("gather", [rand(new Rng(3), [3]), idx([1], [3])])).toThrow(/out-of-bounds/);
  });

  test("gather over a symbolic batch of indices", () => {
    const b = new GraphBuilder();
    const table = b.input("table", [5, 2], "f64"), ids = b.input("ids", ["batch"], "i32");
    const y = b.op1("gather", [table, ids]);
    expect(y.type.shape).toEqual(["batch", 2]);
    const tv = rand(new Rng(4), [5, 2]);
    for (const ids of [[4, 0], [1, 1, 2, 3, 0]]) {
      const [yv] = interpret(b.build([y]), [tv, { data: ids, shape: [ids.length] }]).outputs;
      expectClose(yv!, arr([ids.length, 2], ([r, c]) => get(tv, [ids[r!]!, c!])));
    }
  });

  test("VJP accumulates repeated indices (gather_grad), none for the indices", () => {
    checkVjp("gather", [{ shape: [4, 3] }, { shape: [2, 3], dtype: "i32", data: [1, 1, 3, 0, -3, 2] }], { axis: 0 });
    checkVjp("gather", [{ shape: [2, 5] }, { shape: [4], dtype: "i32", data: [4, 0, 4, 4] }], { axis: 1 });
    checkVjp("gather", [{ shape: [3, 2] }, { shape: [], dtype: "i32", data: [2] }], { axis: 0 });
    const [gx, gi] = vjpValues("gather", [{ shape: [3], data: [1, 2, 3] }, idx([4], [2, 0, 2, -1])], {}, [{ shape: [4], data: [1, 10, 100, 1000] }]);
    expectClose(gx!, { shape: [3], data: [10, 0, 1101] });
    expect(gi).toBeNull();
  });

  test("gather_grad's VJP is gather", () => {
    checkVjp("gather_grad", [{ shape: [2, 3] }, { shape: [2], dtype: "i32", data: [1, 1] }, { shape: [4, 3] }], { axis: 0 });
  });
});

describe("one_hot", () => {
  test("along the last axis and along axis 0, f32, out-of-range gives zeros", () => {
    const i = idx([3], [2, 0, -1]);
    expectClose(run1("one_hot", [i], { depth: 3 }), { shape: [3, 3], data: [0, 0, 1, 1, 0, 0, 0, 0, 1] });
    const j = idx([2, 2], [0, 3, 1, 5]);
    expectClose(run1("one_hot", [j], { depth: 4, axis: 0 }), arr([4, 2, 2], ([d, a, b]) => ([0, 3, 1, 5][a! * 2 + b!] === d ? 1 : 0)));
    const b = new GraphBuilder();
    expect(b.op1("one_hot", [b.input("i", ["n"], "i32")], { depth: 5 }).type).toEqual({ shape: ["n", 5], dtype: "f32" });
  });

  test("no gradient", () => {
    const [g] = vjpValues("one_hot", [idx([2], [0, 1])], { depth: 2 }, [{ shape: [2, 2], data: [1, 2, 3, 4] }]);
    expect(g).toBeNull();
  });
});
