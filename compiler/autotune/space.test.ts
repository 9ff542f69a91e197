import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { lower } from "../driver/kernel.ts";
import { configKey } from "./log.ts";
import { defineSpace } from "./space.ts";
import { matmulSpace } from "../targets/cpu/schedules/gemm.ts";

const space = defineSpace({ knobs: { mr: [1, 2, 4, 6, 8], nr: [16, 32, 64], order: ["a", "b"] } });

describe("ConfigSpace", () => {
  test("size, get and indexOf are inverse; every config is distinct", () => {
    expect(space.size).toBe(30);
    const keys = new Set<string>();
    for (let i = 0; i < space.size; i++) {
      const c = space.get(i);
      expect(space.indexOf(c)).toBe(i);
      expect(space.indexAt(space.positions(c))).toBe(i);
      keys.add(configKey(c));
    }
    expect(keys.size).toBe(30);
    expect(space.get(0)).toEqual({ mr: 1, nr: 16, order: "a" });
    expect(space.get(29)).toEqual({ mr: 8, nr: 64, order: "b" });
    expect(() => space.get(30)).toThrow();
    expect(() => space.indexOf({ mr: 3, nr: 16, order: "a" })).toThrow(/not one of/);
    expect(() => space.indexOf({ mr: 1, nr: 16 })).toThrow(/knobs/);
    expect(space.contains({ mr: 6, nr: 32, order: "b" })).toBe(true);
  });

  test("random is seeded and in the space", () => {
    const a = new Rng(3), b = new Rng(3);
    for (let i = 0; i < 50; i++) {
      const c = space.random(a);
      expect(c).toEqual(space.random(b));
      expect(space.contains(c)).toBe(true);
    }
  });

  test("neighbors change exactly one knob", () => {
    const c = { mr: 4, nr: 32, order: "a" };
    const any = space.neighbors(c);
    expect(any).toHaveLength(4 + 2 + 1);
    const adj = space.neighbors(c, "adjacent");
    expect(adj.map(configKey).sort()).toEqual(
      [{ mr: 2, nr: 32, order: "a" }, { mr: 6, nr: 32, order: "a" }, { mr: 4, nr: 16, order: "a" }, { mr: 4, nr: 64, order: "a" }, { mr: 4, nr: 32, order: "b" }]
        .map(configKey)
        .sort(),
    );
    for (const n of any) expect(Object.keys(n).filter((k) => n[k] !== (c as Record<string, unknown>)[k])).toHaveLength(1);
    const rng = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const j = rng.int(0, space.size);
      const k = space.randomNeighbor(j, rng);
      const x = space.get(j), y = space.get(k);
      expect(space.names.filter((n) => x[n] !== y[n])).toHaveLength(1);
    }
  });

  test("knobFeatures are the normalized value positions", () => {
    expect([...space.knobFeatures({ mr: 4, nr: 64, order: "a" })]).toEqual([0.5, 1, 0]);
    expect(space.featureMatrix([space.get(0), space.get(29)])).toEqual(Float32Array.of(0, 0, 0, 1, 1, 1));
    expect([...defineSpace({ knobs: { x: [7] } }).knobFeatures({ x: 7 })]).toEqual([0]);
  });

  test("knob defaults complete configs written before the knob existed", () => {
    const sp = defineSpace({ knobs: { mr: [2, 4], pack: [1, 0] }, defaults: { pack: 1 } });
    expect(sp.complete({ mr: 4 })).toEqual({ mr: 4, pack: 1 });
    expect(sp.complete({ mr: 4, pack: 0 })).toEqual({ mr: 4, pack: 0 });
    expect(sp.contains({ mr: 4 })).toBe(false); // only completed configs are in the space
    expect(sp.indexOf(sp.complete({ mr: 4 }))).toBe(sp.indexOf({ mr: 4, pack: 1 }));
    expect(() => defineSpace({ knobs: { pack: [1, 0] }, defaults: { pack: 2 } })).toThrow(/default pack = 2/);
    expect(() => defineSpace({ knobs: { pack: [1, 0] }, defaults: { other: 1 } })).toThrow(/default other/);
  });

  test("rejects bad specs", () => {
    expect(() => defineSpace({ knobs: {} })).toThrow();
    expect(() => defineSpace({ knobs: { x: [] } })).toThrow(/no values/);
    expect(() => defineSpace({ knobs: { x: [1, 1] } })).toThrow(/duplicate/);
  });
});

describe("matmulSpace", () => {
  test("knob values fit the shape", () => {
    const s = matmulSpace(64, 128, 32);
    expect(s.names).toEqual(["mr", "nr", "ku"]);
    expect(s.values[0]).toEqual([1, 2, 3, 4, 6, 8, 12, 16]);
    expect(s.values[1]).toEqual([4, 8, 16, 32, 64, 128]);
    expect(s.values[2]).toEqual([1, 2, 4, 8, 16]);
    const tiny = matmulSpace(2, 3, 1);
    expect(tiny.values).toEqual([[1, 2], [3], [1]]);
    expect(() => matmulSpace(0, 4, 4)).toThrow();
  });

  test("configs build schedules that lower", () => {
    const s = matmulSpace(24, 64, 16);
    const rng = new Rng(5);
    const picks = [0, s.size - 1, ...Array.from({ length: 4 }, () => rng.int(0, s.size))];
    for (const i of picks) {
      const { s: sched, args } = s.apply(s.get(i));
      const f = lower(sched, args);
      expect(f).toBeDefined();
    }
    expect(() => s.apply({ mr: 5, nr: 64, ku: 1 })).toThrow();
  });
});
