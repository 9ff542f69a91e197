import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, at, expectClose, inferTypes, rand, runOp } from "./testing.ts";

/** softmax (or log-softmax) along `axis` by the direct formula exp(x)/Σexp(x), per line along the axis. */
function refSoftmax(x: Arr, axis: number, log: boolean): number[] {
  const shape = x.shape;
  const out = new Array<number>(x.data.length);
  const other = shape.map((d, k) => (k === axis ? 1 : d));
  const count = other.reduce((a, b) => a * b, 1);
  for (let f = 0; f < count; f++) {
    const idx: number[] = [];
    let rest = f;
    for (let k = shape.length - 1; k >= 0; k--) { idx.unshift(rest % other[k]!); rest = Math.floor(rest / other[k]!); }
    const flats = Array.from({ length: shape[axis]! }, (_, j) => at(shape, ...idx.map((v, k) => (k === axis ? j : v))));
    const z = flats.reduce((s, p) => s + Math.exp(x.data[p]!), 0);
    for (const p of flats) out[p] = log ? x.data[p]! - Math.log(z) : Math.exp(x.data[p]!) / z;
  }
  return out;
}

describe("softmax", () => {
  const rng = new Rng(41);
  test("rows sum to 1 and match exp(x)/Σexp(x)", () => {
    const x = rand(rng, [4, 5], -3, 3);
    const y = runOp("softmax", [x])[0]!;
    for (let r = 0; r < 4; r++) expect(Array.from(y.data).slice(r * 5, r * 5 + 5).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 14);
    expectClose(y, { data: refSoftmax(x, 1, false), shape: x.shape });
  });
  test("along a middle axis of a 3-D tensor", () => {
    const x = rand(rng, [2, 3, 4], -2, 2);
    expectClose(runOp("softmax", [x], { axis: 1 })[0]!, { data: refSoftmax(x, 1, false), shape: x.shape });
  });
  test("is numerically stable: large inputs give the same result as shifted ones (no overflow)", () => {
    const x = rand(rng, [2, 4], -3, 3);
    const big = { data: Array.from(x.data, (v) => v + 1000), shape: x.shape };
    const y = runOp("softmax", [big])[0]!;
    expect(y.data.every(Number.isFinite)).toBe(true);
    expectClose(y, { data: refSoftmax(x, 1, false), shape: x.shape }, 1e-12);
    const ly = runOp("log_softmax", [{ data: Array.from(x.data, (v) => v - 1000), shape: x.shape }])[0]!;
    expectClose(ly, { data: refSoftmax(x, 1, true), shape: x.shape }, 1e-9);
  });
  test("log_softmax equals x − log Σexp(x) along axis 0", () => {
    const x = rand(rng, [3, 4], -3, 3);
    expectClose(runOp("log_softmax", [x], { axis: 0 })[0]!, { data: refSoftmax(x, 0, true), shape: x.shape });
  });
  test("bad axis names the node", () => {
    expect(() => inferTypes("softmax", [{ shape: [2, 3] }], { axis: 2 }, "sm")).toThrow(/node sm \(softmax\): axis 2 is out of range for rank 2/);
  });
  test("VJP softmax (last axis)", () => checkVjp("softmax", [{ shape: [2, 4] }]));
  test("VJP softmax (axis 0 of 3-D)", () => checkVjp("softmax", [{ shape: [3, 2, 2] }], { axis: 0 }));
  test("VJP log_softmax", () => checkVjp("log_softmax", [{ shape: [2, 3, 2] }], { axis: 1 }));
});
