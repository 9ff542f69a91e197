import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import { GraphBuilder } from "../../graph/builder.ts";
import { interpret } from "../../graph/interpret.ts";
import type { Arr } from "./testing.ts";
import { Rng, arr, expectClose, get, mapB, rand, run1, sizeOf, unravel } from "./testing.ts";

/** Σ of x into like's shape: every x element added to the like position it broadcast from. */
function sumLikeRef(x: Arr, likeShape: number[]): Arr {
  const out = new Float64Array(sizeOf(likeShape));
  const off = x.shape.length - likeShape.length;
  for (let i = 0; i < sizeOf(x.shape); i++) {
    const ix = unravel(i, x.shape);
    const j = likeShape.reduce((acc, d, k) => acc * d + (d === 1 ? 0 : ix[k + off]!), 0);
    out[j]! += x.data[i]!;
  }
  return { shape: likeShape, data: out };
}

const PAIRS: [number[], number[]][] = [[[5, 3, 4], [1, 3, 1]], [[5, 3, 4], [3, 1]], [[2, 3], []], [[2, 3], [2, 3]], [[4, 2], [1, 2]], [[2, 1, 3], [3]]];

describe("sum_like / broadcast_like", () => {
  test.each(PAIRS)("sum_like %j → %j and broadcast_like back", (big, small) => {
    const rng = new Rng(big.length * 3 + small.length);
    const x = rand(rng, big), s = rand(rng, small);
    expectClose(run1("sum_like", [x, s]), sumLikeRef(x, small), { atol: 1e-14 });
    expectClose(run1("broadcast_like", [s, x]), mapB((v) => v, s, { shape: big, data: new Float64Array(sizeOf(big)) }));
  });

  test.each(PAIRS)("VJPs %j %j (each is the other's adjoint)", (big, small) => {
    checkVjp("sum_like", [{ shape: big }, { shape: small }]);
    checkVjp("broadcast_like", [{ shape: small }, { shape: big }]);
  });

  test("symbolic dimensions: sum over a broadcast batch", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 3], "f64"), bias = b.input("bias", [3], "f64");
    const s = b.op1("sum_like", [x, bias]);
    const back = b.op1("broadcast_like", [s, x]);
    expect(s.type.shape).toEqual([3]);
    expect(back.type.shape).toEqual(["batch", 3]);
    for (const n of [1, 4]) {
      const xv = rand(new Rng(n), [n, 3]);
      const [sv, bv] = interpret(b.build([s, back]), [xv, { data: [0, 0, 0], shape: [3] }]).outputs;
      const want = sumLikeRef(xv, [3]);
      expectClose(sv!, want, { atol: 1e-14 });
      expectClose(bv!, arr([n, 3], ([, j]) => get(want, [j!])), { atol: 1e-14 });
    }
  });
});

describe("reshape_like / zeros_like / ones_like", () => {
  test("reshape_like copies row-major; zeros/ones keep the type", () => {
    const x = rand(new Rng(2), [2, 6]);
    expectClose(run1("reshape_like", [x, { shape: [3, 2, 2], data: new Float64Array(12) }]), { shape: [3, 2, 2], data: x.data });
    expectClose(run1("zeros_like", [x]), { shape: [2, 6], data: new Float64Array(12) });
    expectClose(run1("ones_like", [{ shape: [3], data: [1, 2, 3], dtype: "i32" }]), { shape: [3], data: [1, 1, 1] });
  });

  test("reshape_like with symbolic shapes", () => {
    const b = new GraphBuilder();
    const x = b.input("x", ["batch", 4], "f64"), like = b.input("like", ["batch", 2, 2], "f64");
    expect(b.op1("reshape_like", [x, like]).type.shape).toEqual(["batch", 2, 2]);
  });

  test("VJPs", () => {
    checkVjp("reshape_like", [{ shape: [2, 6] }, { shape: [4, 3] }]);
    checkVjp("zeros_like", [{ shape: [2] }]); // no gradient flows: nothing to compare, but it must not throw
  });
});
