import { describe, expect, test } from "vitest";
import { firstNonFinite } from "./nan-check.ts";
import { parseGraph } from "./text/parse.ts";

const G = `graph g(x: f64[3]) {
  s = sqrt(x)
  l = log(x)
  e = exp(x)
  a = add(s, l)
  y = add(a, e)
  return y
}`;

describe("firstNonFinite", () => {
  const g = parseGraph(G);
  const run = (x: number[]) => firstNonFinite(g, [{ data: x, shape: [3] }]);

  test("finite everywhere: null", () => {
    expect(run([1, 2, 3])).toBeNull();
  });

  test("names the first node in topological order that produced a NaN, not the ones it flowed into", () => {
    const r = run([1, -4, 3])!; // sqrt(-4) and log(-4) are both NaN; sqrt comes first
    expect(r.kind).toBe("node");
    expect(r.node!.name).toBe("s");
    expect(r.value.name).toBe("s");
    expect(r.index).toBe(1);
    expect(r.element).toBeNaN();
    expect(r.message).toBe("node s (sqrt) produced NaN at element 1 of s: f64[3] from inputs x: f64[3]");
  });

  test("log(0) = -Infinity and exp(1000) = Infinity are non-finite too", () => {
    const r = run([4, 0, 1])!;
    expect([r.node!.name, r.index, r.element]).toEqual(["l", 1, -Infinity]);
    const q = run([1, 2, 1000])!;
    expect([q.node!.name, q.index, q.element]).toEqual(["e", 2, Infinity]);
  });

  test("a non-finite input or constant is reported as such, before any node", () => {
    const r = run([1, NaN, 3])!;
    expect([r.kind, r.node, r.value.name, r.index]).toEqual(["input", null, "x", 1]);
    expect(r.message).toBe("input x holds NaN at element 1 of x: f64[3]");
    const h = parseGraph(`graph h(x: f64[2]) {
      const c: f64[2] = [1, inf]
      y = mul(x, c)
      return y
    }`);
    const c = firstNonFinite(h, [{ data: [1, 2], shape: [2] }])!;
    expect([c.kind, c.value.name, c.index, c.element]).toEqual(["constant", "c", 1, Infinity]);
  });
});
