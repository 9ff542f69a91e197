import { afterEach, describe, expect, test } from "vitest";
import { envCount } from "./env.ts";

describe("envCount", () => {
  afterEach(() => { delete process.env["LATHE_TEST_COUNT"]; });
  test("unset gives the default; a positive integer is read; anything else names the variable", () => {
    expect(envCount("LATHE_TEST_COUNT", 7)).toBe(7);
    process.env["LATHE_TEST_COUNT"] = "12";
    expect(envCount("LATHE_TEST_COUNT", 7)).toBe(12);
    for (const bad of ["abc", "0", "-3", "2.5", ""]) {
      process.env["LATHE_TEST_COUNT"] = bad;
      expect(() => envCount("LATHE_TEST_COUNT", 7)).toThrow(/LATHE_TEST_COUNT must be a positive integer/);
    }
  });
});
