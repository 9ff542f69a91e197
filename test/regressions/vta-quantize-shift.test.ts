// The quantize pass refused a chain whose requantization shift exceeded 15 (the ALU
// immediate's limit) with a LatheError, and the VTA fuzzer let it end the whole
// 10,000-graph run (seed 20261207, draw 356; draws 528 and 6332 fail the same way): in each,
// a small dense layer late in the chain has an output exponent 16–20 above its product's
// (a ReLU output that is 0 on both calibration batches keeps exponent 0, however fine the
// input's and the weight's are). The pass now quantizes such a weight at the coarser
// exponent e_out − 15 − e_x; the chains build and run on the functional simulator bit for
// bit equal to the interpreter.
import { expect, test } from "vitest";
import { buildVtaCase, runVtaCase, type VtaRecipe } from "../fuzz/vta.ts";

const DRAWS: Record<number, VtaRecipe> = {
  356: { batch: 2, channels: 16, size: 5, layers: [{ kind: "dense", out: 0, k: 0, stride: 0, pad: 1, relu: true }, { kind: "conv", out: 6, k: 0, stride: 0, pad: 0, relu: true }, { kind: "conv", out: 1, k: 0, stride: 1, pad: 1, relu: true }], vthreads: 1, seed: 39996 },
  528: { batch: 1, channels: 16, size: 5, layers: [{ kind: "dense", out: 1, k: 2, stride: 1, pad: 1, relu: true }, { kind: "dense", out: 1, k: 2, stride: 0, pad: 0, relu: true }, { kind: "conv", out: 16, k: 2, stride: 1, pad: 1, relu: false }], vthreads: 1, seed: 4 },
  6332: { batch: 1, channels: 1, size: 4, layers: [{ kind: "dense", out: 0, k: 1, stride: 1, pad: 1, relu: true }, { kind: "conv", out: 3, k: 2, stride: 1, pad: 1, relu: true }, { kind: "conv", out: 18, k: 1, stride: 0, pad: 0, relu: false }], vthreads: 2, seed: 7 },
};

test.each(Object.entries(DRAWS))("fuzz draw %s: quantizes with every shift ≤ 15 and runs on fsim equal to the interpreter", async (_i, recipe) => {
  const c = buildVtaCase(recipe);
  for (const n of c.graph.nodes) if (n.op === "requantize") expect(n.attrs.shift as number).toBeLessThanOrEqual(15);
  expect(await runVtaCase(c, "fsim")).toEqual({ ok: true });
}, 60_000);
