import { describe, expect, test } from "vitest";
import { f16FromBits, f16ToBits } from "./f16.ts";

describe("f16", () => {
  test("known encodings", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [2 ** -14, 0x0400], [2 ** -24, 0x0001], [2 ** -14 - 2 ** -24, 0x03ff], [1 / 3, 0x3555],
      [Infinity, 0x7c00], [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) expect(f16ToBits(v)).toBe(bits);
    for (const [v, bits] of cases.filter(([v]) => v !== 1 / 3)) expect(Object.is(f16FromBits(bits), v)).toBe(true);
    expect(f16FromBits(0x3555)).toBe(0.333251953125); // 2^-2 * (1 + 341/1024), the half nearest 1/3
  });

  test("rounds to nearest, ties to even", () => {
    const ulp = 2 ** -10; // spacing just above 1
    expect(f16ToBits(1 + ulp / 2)).toBe(0x3c00); // tie: 0x3c00 is even
    expect(f16ToBits(1 + 1.5 * ulp)).toBe(0x3c02); // tie: 0x3c02 is even
    expect(f16ToBits(1 + 0.51 * ulp)).toBe(0x3c01);
    expect(f16ToBits(65519)).toBe(0x7bff);
    expect(f16ToBits(65520)).toBe(0x7c00);
    expect(f16ToBits(2 ** -25)).toBe(0x0000); // tie between 0 and the smallest subnormal
    expect(f16ToBits(1.5 * 2 ** -24)).toBe(0x0002);
    expect(f16ToBits(2 ** -14 - 2 ** -25)).toBe(0x0400); // rounds up out of the subnormals
  });

  test("every non-NaN bit pattern round-trips", () => {
    const wrong: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      const v = f16FromBits(h);
      const isNaNPattern = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (Number.isNaN(v) !== isNaNPattern || (!isNaNPattern && f16ToBits(v) !== h)) wrong.push(h);
    }
    expect(wrong).toEqual([]);
    expect(f16ToBits(NaN)).toBe(0x7e00);
  });
});
