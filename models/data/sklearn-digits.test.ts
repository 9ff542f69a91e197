import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { loadSklearnDigits, missingSklearnDigits } from "./sklearn-digits.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const missing = missingSklearnDigits();

describe("scikit-learn digits", () => {
  test.skipIf(missing !== null)(skipReason("1797 rows of 64 pixels in 0..16, classes as load_digits", missing !== null && NEEDS.sklearn), () => {
    const d = loadSklearnDigits();
    expect(d.x.shape).toEqual([1797, 64]);
    expect(d.y.shape).toEqual([1797]);
    const x = d.x.data as Float32Array, y = d.y.data as Int32Array;
    expect([...x.subarray(0, 8)]).toEqual([0, 0, 5, 13, 9, 1, 0, 0]);
    expect([...y.subarray(0, 10)]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Math.max(...x)).toBe(16);
    const counts = Array.from({ length: 10 }, (_, c) => y.filter((v) => v === c).length);
    expect(counts).toEqual([178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    expect(loadSklearnDigits({ shape: "images" }).x.shape).toEqual([1797, 8, 8]);
  });
  test("a missing file is a LatheError naming it", () => {
    expect(missingSklearnDigits("/nonexistent/digits.csv.gz")).toMatch(/nonexistent/);
    expect(() => loadSklearnDigits({ path: "/nonexistent/digits.csv.gz" })).toThrow(LatheError);
  });
});
