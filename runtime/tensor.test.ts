import { describe, expect, test } from "vitest";
import { ShapeError } from "../core/errors.ts";
import { Tensor } from "./tensor.ts";

describe("Tensor", () => {
  test("fromArray stores row-major and get() indexes by strides", () => {
    const t = Tensor.fromArray([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 3, 2]);
    expect(t.strides).toEqual([6, 2, 1]);
    expect(t.size).toBe(12);
    expect(t.ndim).toBe(3);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 2; k++) expect(t.get(i, j, k)).toBe(i * 6 + j * 2 + k);
    expect(t.data).toBeInstanceOf(Float32Array);
  });

  test("values are converted as the dtype stores them", () => {
    expect(Tensor.fromArray([0.1], [1], "f32").toArray()).toEqual([Math.fround(0.1)]);
    expect(Tensor.fromArray([0.1], [1], "f64").toArray()).toEqual([0.1]);
    expect(Tensor.fromArray([1 / 3, 65504, 1e6], [3], "f16").toArray()).toEqual([0.333251953125, 65504, Infinity]);
    expect(Tensor.fromArray([300, -1, 2.9], [3], "u8").toArray()).toEqual([44, 255, 2]);
    expect(Tensor.fromArray([200, -2.7], [2], "i8").toArray()).toEqual([-56, -2]);
    expect(Tensor.fromArray([2 ** 40, -5], [2], "i64").toArray()).toEqual([2 ** 40, -5]);
    expect(Tensor.fromArray([0, 3, -1], [3], "bool").toArray()).toEqual([0, 1, 1]);
    expect(Tensor.fromArray([7], [], "i32").get()).toBe(7); // a scalar has shape []
  });

  test("zeros has the dtype's array and no elements set", () => {
    const t = Tensor.zeros([3, 0, 2], "i64");
    expect(t.data).toBeInstanceOf(BigInt64Array);
    expect(t.size).toBe(0);
    expect(Tensor.zeros([2, 2], "f16").toArray()).toEqual([0, 0, 0, 0]);
  });

  test("random is deterministic per seed and stays in range", () => {
    const a = Tensor.random([50, 40], "f32", 42);
    expect(a.toArray()).toEqual(Tensor.random([50, 40], "f32", 42).toArray());
    expect(a.toArray()).not.toEqual(Tensor.random([50, 40], "f32", 43).toArray());
    const xs = a.toArray();
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(-1);
    expect(Math.max(...xs)).toBeLessThan(1);
    expect(Math.abs(xs.reduce((s, x) => s + x) / xs.length)).toBeLessThan(0.05);

    const ints = Tensor.random([1000], "i32", 1).toArray();
    expect(new Set(ints).size).toBe(16); // every value in [-8, 8)
    expect(Math.min(...ints)).toBe(-8);
    expect(Math.max(...ints)).toBe(7);
    expect(new Set(Tensor.random([100], "bool", 1).toArray())).toEqual(new Set([0, 1]));
    const custom = Tensor.random([500], "f64", 5, { low: 10, high: 11 }).toArray();
    expect(custom.every((x) => x >= 10 && x < 11)).toBe(true);
  });

  test("bad shapes, data and indices are ShapeErrors", () => {
    expect(() => Tensor.fromArray([1, 2, 3], [2, 2])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2, -1])).toThrow(/shape\[1\] must be a non-negative integer/);
    expect(() => Tensor.zeros([1.5])).toThrow(ShapeError);
    expect(() => Tensor.zeros([2], "f128" as never)).toThrow(/unknown dtype/);
    expect(() => new Tensor(new Float64Array(4), [4], "f32")).toThrow(/needs a Float32Array, got Float64Array/);
    expect(() => new Tensor(new Float32Array(4), [5], "f32")).toThrow(ShapeError);
    const t = Tensor.zeros([2, 3]);
    expect(() => t.get(2, 0)).toThrow(/out of bounds/);
    expect(() => t.get(0)).toThrow(/1 entries for a 2-d tensor/);
    expect(() => t.get(0, 0.5)).toThrow(ShapeError);
    expect(() => Tensor.random([2], "f32", 0, { low: 1, high: 1 })).toThrow(ShapeError);
  });

  test("the constructor wraps without copying", () => {
    const data = new Int32Array([1, 2, 3, 4]);
    const t = new Tensor(data, [2, 2], "i32");
    data[3] = 40;
    expect(t.get(1, 1)).toBe(40);
  });
});
