import { describe, expect, test } from "vitest";
import { checkVjp } from "../../../test/helpers/grad-check.ts";
import type { Arr } from "./testing.ts";
import { Rng, expectClose, inferTypes, rand, runOp } from "./testing.ts";

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** The standard LSTM step, gates stacked i, f, g, o in the rows of w_ih [4H, I] and w_hh [4H, H]. */
function refLstm(x: Arr, h: Arr, c: Arr, wih: Arr, whh: Arr, bias: Arr): [number[], number[]] {
  const [B, I] = x.shape as [number, number], H = h.shape[1]!;
  const hOut: number[] = [], cOut: number[] = [];
  for (let b = 0; b < B; b++) {
    const z = Array.from({ length: 4 * H }, (_, r) => {
      let s = bias.data[r]!;
      for (let k = 0; k < I; k++) s += wih.data[r * I + k]! * x.data[b * I + k]!;
      for (let k = 0; k < H; k++) s += whh.data[r * H + k]! * h.data[b * H + k]!;
      return s;
    });
    for (let j = 0; j < H; j++) {
      const i = sigmoid(z[j]!), f = sigmoid(z[H + j]!), g = Math.tanh(z[2 * H + j]!), o = sigmoid(z[3 * H + j]!);
      const cn = f * c.data[b * H + j]! + i * g;
      cOut.push(cn);
      hOut.push(o * Math.tanh(cn));
    }
  }
  return [hOut, cOut];
}

describe("lstm_cell", () => {
  test("equals the standard equations (gate order i, f, g, o)", () => {
    const rng = new Rng(51);
    const B = 3, I = 4, H = 2;
    const ins = [rand(rng, [B, I]), rand(rng, [B, H]), rand(rng, [B, H]), rand(rng, [4 * H, I]), rand(rng, [4 * H, H]), rand(rng, [4 * H])] as const;
    const [h2, c2] = runOp("lstm_cell", [...ins]);
    const [wantH, wantC] = refLstm(...ins);
    expectClose(h2!, { data: wantH, shape: [B, H] });
    expectClose(c2!, { data: wantC, shape: [B, H] });
  });
  test("a symbolic batch passes through", () => {
    const t = inferTypes("lstm_cell", [{ shape: ["n", 3] }, { shape: ["n", 2] }, { shape: ["n", 2] }, { shape: [8, 3] }, { shape: [8, 2] }, { shape: [8] }]);
    expect(t.map((x) => x.shape)).toEqual([["n", 2], ["n", 2]]);
  });
  test("a weight of the wrong shape names the node", () => {
    expect(() => inferTypes("lstm_cell", [{ shape: [1, 3] }, { shape: [1, 2] }, { shape: [1, 2] }, { shape: [6, 3] }, { shape: [8, 2] }, { shape: [8] }], {}, "cell"))
      .toThrow(/node cell \(lstm_cell\): w_ih must be \[8, 3\]; inputs/);
  });
  test("VJP through both outputs (all six inputs)", () =>
    checkVjp("lstm_cell", [{ shape: [2, 3] }, { shape: [2, 2] }, { shape: [2, 2] }, { shape: [8, 3] }, { shape: [8, 2] }, { shape: [8] }]));
});
