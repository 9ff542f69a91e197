import { describe, expect, test } from "vitest";
import { build } from "../../compiler/driver/kernel.ts";
import { RuntimeError, ShapeError } from "../../core/errors.ts";
import { add } from "../../compiler/te/expr.ts";
import { compute, placeholder, sizeVar } from "../../compiler/te/tensor.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";

describe("kernels check their arguments and name what is wrong", async () => {
  const n = sizeVar("n");
  const A = placeholder([n, 3], "f32", "A");
  const B = placeholder([n, 3], "f32", "B");
  const C = compute([n, 3], (i, j) => add(A.at(i, j), B.at(i, j)), "C");
  const kernel = await build(createSchedule(C), [A, B, C], { name: "vadd" });
  const arg = (rows: number, dtype: "f32" | "i32" = "f32") => ({
    data: dtype === "f32" ? new Float32Array(rows * 3).fill(1) : new Int32Array(rows * 3), shape: [rows, 3], dtype,
  });

  test("runs for any n, checked against a closed form", () => {
    for (const rows of [1, 5]) {
      const a = arg(rows), b = arg(rows), c = arg(rows);
      a.data.forEach((_, i) => { a.data[i] = i; b.data[i] = 2 * i; });
      kernel.run(a, b, c);
      expect(Array.from(c.data)).toEqual(Array.from(a.data, (_, i) => 3 * i));
    }
  });

  test("a symbolic size that disagrees between arguments", () => {
    expect(() => kernel.run(arg(4), arg(5), arg(4))).toThrow(RuntimeError);
    expect(() => kernel.run(arg(4), arg(5), arg(4))).toThrow(/argument 1 \(B\) dimension 0 is 5, expected 4/);
  });

  test("a wrong dtype, a wrong rank, a wrong argument count", () => {
    expect(() => kernel.run(arg(2), arg(2, "i32"), arg(2))).toThrow(/argument 1 \(B\): expected dtype f32/);
    expect(() => kernel.run(arg(2), { data: new Float32Array(6), shape: [6], dtype: "f32" }, arg(2))).toThrow(/expected 2 dimensions, got 1/);
    expect(() => kernel.run(arg(2), arg(2))).toThrow(ShapeError);
  });

  test("a static shape mismatch", async () => {
    const X = placeholder([4, 4], "f32", "X");
    const Y = compute([4, 4], (i, j) => X.at(j, i), "Y");
    const k = await build(createSchedule(Y), [X, Y], { name: "transpose" });
    expect(() => k.run({ data: new Float32Array(8), shape: [2, 4], dtype: "f32" }, new Float32Array(16)))
      .toThrow(/argument 0 \(X\) dimension 0 is 2, expected 4/);
  });
});
