/**
 * Test support (a fixture) for scans: a small RNN written once as a scan and once unrolled (a step
 * per time index, slices in, stacked outputs concatenated), so the two can be compared
 * through the interpreter, the autodiff pass and compiled code.
 */
import type { DType } from "../../core/dtype.ts";
import { Rng } from "../../runtime/random.ts";
import { GraphBuilder } from "./builder.ts";
import type { Graph, Value } from "./graph.ts";
import type { Dim } from "./types.ts";

export interface RnnSizes {
  /** Steps; a name makes the length symbolic (scan form only). */
  readonly T: Dim;
  readonly B: number;
  readonly I: number;
  readonly H: number;
  readonly dtype?: DType;
  readonly reverse?: boolean;
}

/** One step: h' = tanh(x·wx + h·wh + bias), y = h'·h' (a per-step output other than the carry). */
function step(b: GraphBuilder, h: Value, x: Value, wx: Value, wh: Value, bias: Value): [Value, Value] {
  const h2 = b.op1("tanh", [b.op1("add", [b.op1("add", [b.op1("matmul", [x, wx]), b.op1("matmul", [h, wh])]), bias])]);
  return [h2, b.op1("mul", [h2, h2])];
}

/** The body graph of the RNN scan: (h, x, wx, wh, bias) → (h', y). */
export function rnnBody(s: RnnSizes): Graph {
  const dtype = s.dtype ?? "f64";
  const b = new GraphBuilder();
  const h = b.input("h", [s.B, s.H], dtype), x = b.input("x", [s.B, s.I], dtype);
  const wx = b.input("wx", [s.I, s.H], dtype), wh = b.input("wh", [s.H, s.H], dtype), bias = b.input("bias", [s.H], dtype);
  return b.build(step(b, h, x, wx, wh, bias));
}

/**
 * Inputs (h0 [B, H], xs [T, B, I], wx, wh, bias); outputs (loss, hT, ys [T, B, H]) with
 * loss = Σ ys·k + Σ hT (k a fixed ramp, so every element of ys matters differently).
 */
export function rnnGraph(s: RnnSizes, form: "scan" | "unrolled"): Graph {
  const dtype = s.dtype ?? "f64";
  const b = new GraphBuilder();
  const h0 = b.input("h0", [s.B, s.H], dtype), xs = b.input("xs", [s.T, s.B, s.I], dtype);
  const wx = b.input("wx", [s.I, s.H], dtype), wh = b.input("wh", [s.H, s.H], dtype), bias = b.input("bias", [s.H], dtype);
  let hT: Value, ys: Value;
  if (form === "scan") {
    [hT, ys] = b.scan(rnnBody(s), { carries: [h0], sequences: [xs], invariants: [wx, wh, bias] }, { reverse: s.reverse ?? false }) as [Value, Value];
  } else {
    if (typeof s.T !== "number") throw new Error("the unrolled form needs a static length");
    let h = h0;
    const per: Value[] = new Array(s.T);
    for (let i = 0; i < s.T; i++) {
      const t = s.reverse ? s.T - 1 - i : i;
      const x = b.op1("squeeze", [b.op1("slice", [xs], { starts: [t], ends: [t + 1], axes: [0], steps: [1] })], { axes: [0] });
      let y: Value;
      [h, y] = step(b, h, x, wx, wh, bias);
      per[t] = b.op1("unsqueeze", [y], { axes: [0] });
    }
    hT = h;
    ys = per.length === 1 ? per[0]! : b.op1("concat", per, { axis: 0 });
  }
  const ramp = ys.type.shape.every((d) => typeof d === "number") ? ys.type.shape.reduce((a: number, d) => a * (d as number), 1) : 0;
  // A symbolic length has no constant ramp of its size: weight ys by itself instead.
  const weighted = ramp > 0
    ? b.op1("mul", [ys, b.constant("k", Float64Array.from({ length: ramp }, (_, i) => 0.5 + i / ramp), ys.type.shape, "f64")])
    : b.op1("mul", [ys, ys]);
  const loss = b.op1("add", [b.op1("sum", [b.op1("cast", [weighted], { dtype: "f64" })]), b.op1("sum", [b.op1("cast", [hT], { dtype: "f64" })])]);
  return b.build([loss, hT, ys]);
}

/** Seeded data for rnnGraph's inputs at a concrete length. */
export function rnnFeed(s: RnnSizes, T: number, seed = 1): { data: Float64Array; shape: number[] }[] {
  const rng = new Rng(seed);
  const rand = (shape: number[]) => ({ data: Float64Array.from({ length: shape.reduce((a, d) => a * d, 1) }, () => rng.uniform(-1, 1)), shape });
  return [rand([s.B, s.H]), rand([T, s.B, s.I]), rand([s.I, s.H]), rand([s.H, s.H]), rand([s.H])];
}
