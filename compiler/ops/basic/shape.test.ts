import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import { basicOps } from "./index.ts";
import type { Arr } from "./testing.ts";
import { Rng, arr, expectClose, get, mapB, rand, run1 } from "./testing.ts";

const typeOf = (op: string, shape: (number | string)[], attrs: Record<string, number[]>) => {
  const b = new GraphBuilder();
  return b.op1(op, [b.input("x", shape)], attrs).type.shape;
};

describe("reshape", () => {
  test("keeps row-major order; 0 copies a dimension, -1 is inferred", () => {
    const x = rand(new Rng(1), [2, 3, 4]);
    for (const [spec, shape] of [[[6, 4], [6, 4]], [[0, -1], [2, 12]], [[-1], [24]], [[4, 0, 2], [4, 3, 2]], [[1, 24, 1], [1, 24, 1]]] as const) {
      const y = run1("reshape", [x], { shape: [...spec] });
      expectClose(y, { shape: [...shape], data: x.data });
    }
  });

  test("symbolic dimensions survive 0 and -1", () => {
    expect(typeOf("reshape", ["batch", 4], { shape: [0, 2, 2] })).toEqual(["batch", 2, 2]);
    expect(typeOf("reshape", ["batch", 2, 2], { shape: [-1, 4] })).toEqual(["batch", 4]);
    expect(typeOf("reshape", [3, "n"], { shape: [-1, 3] })).toEqual(["n", 3]);
    expect(typeOf("reshape", ["batch", 4], { shape: [0, 4, 1] })).toEqual(["batch", 4, 1]);
  });

  test("a symbolic reshape runs at two batch sizes", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 4], "f64");
    const y = b.op1("reshape", [x], { shape: [0, 2, 2] });
    const z = b.op1("reshape", [b.op1("transpose", [y], { perm: [0, 2, 1] })], { shape: [-1, 4] });
    for (const n of [1, 3]) {
      const xv = rand(new Rng(n), [n, 4]);
      const [yv, zv] = interpret(b.build([y, z]), [xv]).outputs;
      expectClose(yv!, { shape: [n, 2, 2], data: xv.data });
      expectClose(zv!, arr([n, 4], ([i, j]) => get(xv, [i!, (j! % 2) * 2 + Math.floor(j! / 2)])));
    }
  });

  test("VJP", () => {
    checkVjp("reshape", [{ shape: [2, 3, 2] }], { shape: [3, -1] });
  });
});

describe("transpose", () => {
  const transposeRef = (x: Arr, perm: number[]): Arr =>
    arr(perm.map((p) => x.shape[p]!), (o) => { const idx: number[] = []; perm.forEach((p, k) => { idx[p] = o[k]!; }); return get(x, idx); });

  test("matches a reference permutation; empty perm reverses; negative entries count from the end", () => {
    const x = rand(new Rng(2), [2, 3, 4]);
    expectClose(run1("transpose", [x], { perm: [1, 2, 0] }), transposeRef(x, [1, 2, 0]));
    expectClose(run1("transpose", [x], {}), transposeRef(x, [2, 1, 0]));
    expectClose(run1("transpose", [x], { perm: [0, -1, -2] }), transposeRef(x, [0, 2, 1]));
    expect(typeOf("transpose", ["b", 3], {})).toEqual([3, "b"]);
  });

  test("VJP", () => {
    checkVjp("transpose", [{ shape: [2, 3, 4] }], { perm: [2, 0, 1] });
    checkVjp("transpose", [{ shape: [3, 2] }]);
  });
});

describe("squeeze / unsqueeze", () => {
  test("squeeze drops the named size-1 axes, or all of them", () => {
    const x = rand(new Rng(3), [1, 3, 1, 2]);
    expectClose(run1("squeeze", [x], { axes: [0] }), { shape: [3, 1, 2], data: x.data });
    expectClose(run1("squeeze", [x], { axes: [-2, 0] }), { shape: [3, 2], data: x.data });
    expectClose(run1("squeeze", [x]), { shape: [3, 2], data: x.data });
    expect(typeOf("squeeze", ["b", 1], {})).toEqual(["b"]);
  });

  test("unsqueeze inserts axes at output positions", () => {
    const x = rand(new Rng(4), [3, 2]);
    expectClose(run1("unsqueeze", [x], { axes: [0, 3] }), { shape: [1, 3, 2, 1], data: x.data });
    expectClose(run1("unsqueeze", [x], { axes: [-1] }), { shape: [3, 2, 1], data: x.data });
    expectClose(run1("unsqueeze", [{ shape: [], data: [5] }], { axes: [0, 1] }), { shape: [1, 1], data: [5] });
    expect(typeOf("unsqueeze", ["b", 2], { axes: [1] })).toEqual(["b", 1, 2]);
  });

  test("VJPs", () => {
    checkVjp("squeeze", [{ shape: [1, 3, 1] }], { axes: [2] });
    checkVjp("unsqueeze", [{ shape: [3, 2] }], { axes: [1] });
  });
});

describe("expand", () => {
  test("broadcasts both ways (a 1 in shape keeps the input's dimension)", () => {
    const x = rand(new Rng(5), [3, 1]);
    expectClose(run1("expand", [x], { shape: [2, 3, 4] }), mapB((v) => v, x, { shape: [2, 3, 4], data: new Float64Array(24) }));
    expectClose(run1("expand", [x], { shape: [1, 5] }), mapB((v) => v, x, { shape: [3, 5], data: new Float64Array(15) }));
    expect(typeOf("expand", ["b", 1], { shape: [1, 6] })).toEqual(["b", 6]);
  });

  test("VJP sums over the expanded dimensions", () => {
    checkVjp("expand", [{ shape: [3, 1] }], { shape: [2, 3, 4] });
    checkVjp("expand", [{ shape: [] }], { shape: [2, 2] });
  });
});

test("shape ops are injective", () => {
  for (const op of ["reshape", "transpose", "squeeze", "unsqueeze", "expand"]) expect(basicOps[op]!.fusion).toBe("injective");
});
