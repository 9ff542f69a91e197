/**
 * RNN, GRU and LSTM as loops: each direction is one scan (compiler/graph/scan.ts) whose
 * body is one time step, traced once, so the graph does not grow with the sequence length.
 * The input projection of every time step is one matmul ([T, B, I] × Wᵀ) up front; each
 * step adds its recurrent matmul, splits the gates (ONNX order: RNN —, GRU z r h, LSTM
 * i o f c) and applies the activations. sequence_lens masks a batch row's steps past its
 * length (a [T, B, 1] mask scanned with the inputs: the state holds, Y is 0), which also
 * makes the reverse direction start at each row's last step.
 */
import type { Value } from "../../../graph/graph.ts";
import type { ConvertContext, Converter } from "../convert.ts";
import { registerConverters } from "../convert.ts";
import { ctxError, floatOnly, staticShape } from "./nn-common.ts";
import { activation } from "./elementwise.ts";
import { emitScan } from "./scan-body.ts";
import { Tensor } from "../../../../runtime/tensor.ts";

type Activation = (x: Value) => Value;

/**
 * ONNX's recurrent activation functions, one list per direction; alpha/beta are consumed in
 * order by the functions that take them.
 */
function activations(ctx: ConvertContext, defaults: readonly string[], directions: number): Activation[] {
  const list = ctx.attrs.has("activations") ? ctx.attrs.strings("activations") : Array.from({ length: directions }, () => defaults).flat();
  if (list.length !== defaults.length * directions) ctx.unsupported(`${list.length} activations for ${directions} direction(s) of ${defaults.length} each`);
  const alphas = ctx.attrs.floats("activation_alpha", []), betas = ctx.attrs.floats("activation_beta", []);
  let ai = 0, bi = 0;
  const alpha = (def: number) => (ai < alphas.length ? alphas[ai++]! : def);
  const beta = (def: number) => (bi < betas.length ? betas[bi++]! : def);
  return list.map((name): Activation => {
    const s = (x: Value, v: number) => ctx.scalar(v, x.type.dtype);
    switch (name.toLowerCase()) {
      case "sigmoid": return (x) => ctx.op("sigmoid", [x]);
      case "tanh": return (x) => ctx.op("tanh", [x]);
      case "relu": return (x) => ctx.op("relu", [x]);
      case "softsign": return (x) => activation.softsign(ctx, x);
      case "softplus": return (x) => ctx.op("softplus", [x]);
      case "leakyrelu": { const a = alpha(0.01); return (x) => ctx.op("leaky_relu", [x], { alpha: a }); }
      case "thresholdedrelu": { const a = alpha(1); return (x) => activation.thresholdedRelu(ctx, x, a); }
      case "hardsigmoid": { const a = alpha(0.2), b = beta(0.5); return (x) => activation.hardSigmoid(ctx, x, a, b); }
      case "affine": { const a = alpha(1), b = beta(0); return (x) => ctx.op("add", [ctx.op("mul", [x, s(x, a)]), s(x, b)]); }
      case "scaledtanh": { const a = alpha(1), b = beta(1); return (x) => ctx.op("mul", [ctx.op("tanh", [ctx.op("mul", [x, s(x, b)])]), s(x, a)]); }
      case "elu": { const a = alpha(1); return (x) => activation.elu(ctx, x, a); }
      default: return ctx.unsupported(`activation function '${name}'`);
    }
  });
}

interface Recurrence {
  /** Gates per step (RNN 1, GRU 3, LSTM 4). */
  readonly gates: number;
  readonly defaults: readonly string[];
  /** One step of one direction; `xw` is this step's input projection with both biases' input part added. */
  step(s: StepContext): { h: Value; c?: Value };
}

interface StepContext {
  readonly ctx: ConvertContext;
  readonly xw: Value;
  readonly h: Value;
  readonly c: Value | undefined;
  /** R of this direction, [gates·H, H]. */
  readonly r: Value;
  /** Recurrent bias [gates·H] (separate, for GRU's linear_before_reset). */
  readonly rb: Value;
  readonly p: Value | undefined;
  readonly act: Activation[];
  readonly hidden: number;
  readonly clip: number | undefined;
}

const gate = (ctx: ConvertContext, v: Value, k: number, hidden: number): Value =>
  ctx.op("slice", [v], { starts: [k * hidden], ends: [(k + 1) * hidden], axes: [v.type.shape.length - 1] });

/** h·Rᵀ (+ rb) */
const recur = (s: StepContext, r: Value, rb: Value): Value =>
  s.ctx.op("add", [s.ctx.op("matmul", [s.h, s.ctx.op("transpose", [r], { perm: [1, 0] })]), rb]);

const clipped = (s: StepContext, x: Value): Value => {
  if (s.clip === undefined) return x;
  const t = x.type.dtype;
  return s.ctx.op("minimum", [s.ctx.op("maximum", [x, s.ctx.scalar(-s.clip, t)]), s.ctx.scalar(s.clip, t)]);
};

const RNN: Recurrence = {
  gates: 1,
  defaults: ["Tanh"],
  step: (s) => ({ h: s.act[0]!(clipped(s, s.ctx.op("add", [s.xw, recur(s, s.r, s.rb)]))) }),
};

const GRU = (linearBeforeReset: boolean): Recurrence => ({
  gates: 3,
  defaults: ["Sigmoid", "Tanh"],
  step: (s) => {
    const { ctx, hidden: H } = s;
    const [f, g] = s.act as [Activation, Activation];
    const hr = recur(s, s.r, s.rb);
    const z = f(clipped(s, ctx.op("add", [gate(ctx, s.xw, 0, H), gate(ctx, hr, 0, H)])));
    const r = f(clipped(s, ctx.op("add", [gate(ctx, s.xw, 1, H), gate(ctx, hr, 1, H)])));
    const rh = linearBeforeReset
      ? ctx.op("mul", [r, gate(ctx, hr, 2, H)])
      : ctx.op("add", [ctx.op("matmul", [ctx.op("mul", [r, s.h]), ctx.op("transpose", [ctx.op("slice", [s.r], { starts: [2 * H], ends: [3 * H], axes: [0] })], { perm: [1, 0] })]), gate(ctx, s.rb, 2, H)]);
    const cand = g(clipped(s, ctx.op("add", [gate(ctx, s.xw, 2, H), rh])));
    // (1 − z)·h̃ + z·h = h̃ + z·(h − h̃)
    return { h: ctx.op("add", [cand, ctx.op("mul", [z, ctx.op("sub", [s.h, cand])])]) };
  },
});

const LSTM = (inputForget: boolean): Recurrence => ({
  gates: 4,
  defaults: ["Sigmoid", "Tanh", "Tanh"],
  step: (s) => {
    const { ctx, hidden: H } = s;
    const [f, g, hAct] = s.act as [Activation, Activation, Activation];
    const pre = ctx.op("add", [s.xw, recur(s, s.r, s.rb)]);
    const peep = (k: number, c: Value, z: Value) => (s.p ? ctx.op("add", [z, ctx.op("mul", [gate(ctx, s.p, k, H), c])]) : z);
    const i = f(clipped(s, peep(0, s.c!, gate(ctx, pre, 0, H))));
    const fg = inputForget ? ctx.op("sub", [ctx.scalar(1, i.type.dtype), i]) : f(clipped(s, peep(2, s.c!, gate(ctx, pre, 2, H))));
    const cand = g(clipped(s, gate(ctx, pre, 3, H)));
    const c = ctx.op("add", [ctx.op("mul", [fg, s.c!]), ctx.op("mul", [i, cand])]);
    const o = f(clipped(s, peep(1, c, gate(ctx, pre, 1, H))));
    return { h: ctx.op("mul", [o, hAct(c)]), c };
  },
});

/** Direction d's slice of a [num_directions, …] operand. */
const dirSlice = (ctx: ConvertContext, v: Value, d: number): Value =>
  ctx.op("squeeze", [ctx.op("slice", [v], { starts: [d], ends: [d + 1], axes: [0] })], { axes: [0] });

/** [i, o, f, c] gate blocks (ONNX) → [i, f, c, o] (lstm_cell, PyTorch's order) along axis 0. */
const lstmCellOrder = (ctx: ConvertContext, v: Value, H: number): Value =>
  ctx.op("concat", [0, 2, 3, 1].map((k) => ctx.op("slice", [v], { starts: [k * H], ends: [(k + 1) * H], axes: [0] })), { axis: 0 });

/**
 * A recurrence, one scan per direction. `fusedLstm`: the LSTM is the standard one
 * (sigmoid/tanh, no peepholes, clip or coupled gates), so each step is Lathe's lstm_cell,
 * which fuses as one unit.
 */
function recurrent(ctx: ConvertContext, cell: Recurrence, hasCell: boolean, fusedLstm = false): (Value | undefined)[] {
  let x = ctx.input(0);
  floatOnly(ctx, x);
  const t = x.type.dtype;
  const layout = ctx.attrs.int("layout", 0);
  if (x.type.shape.length !== 3) throw ctxError(ctx, `X must be 3-D, got rank ${x.type.shape.length}`);
  if (layout) x = ctx.op("transpose", [x], { perm: [1, 0, 2] });
  const [T, B] = staticShape(ctx, x, "X") as [number, number, number];
  const w = ctx.input(1), r = ctx.input(2);
  const direction = ctx.attrs.string("direction", "forward");
  if (!["forward", "reverse", "bidirectional"].includes(direction)) throw ctxError(ctx, `unknown direction '${direction}'`);
  const nd = direction === "bidirectional" ? 2 : 1;
  const H = ctx.attrs.int("hidden_size", Number(r.type.shape[2]));
  if (!Number.isInteger(H) || H <= 0) throw ctxError(ctx, "hidden_size is required (R's shape is not static)");
  const G = cell.gates;
  // Parsed once here so an unsupported activation is reported even for an empty sequence; the
  // body parses them again with its own context (the functions emit into the graph they were made for).
  activations(ctx, cell.defaults, nd);
  const per = cell.defaults.length;
  const clip = ctx.attrs.has("clip") ? ctx.attrs.float("clip") : undefined;
  const bias = ctx.optional(3);
  const seqLens = ctx.optional(4);
  const initial = (k: number) => {
    const v = ctx.optional(k);
    return v && layout ? ctx.op("transpose", [v], { perm: [1, 0, 2] }) : v;
  };
  const h0 = initial(5), c0 = hasCell ? initial(6) : undefined;
  const peep = hasCell ? ctx.optional(7) : undefined;
  const zeros = ctx.op("expand", [ctx.scalar(0, t)], { shape: [B, H] });
  // mask[t]: [B, 1], true while step t is inside the row's sequence; [T, B, 1], scanned with the inputs.
  const mask = seqLens
    ? ctx.op("unsqueeze", [ctx.op("less", [ctx.constant(Tensor.fromArray(Array.from({ length: T }, (_, k) => k), [T, 1], seqLens.type.dtype)), seqLens])], { axes: [2] })
    : undefined;
  const ys: Value[] = [];
  const finalH: Value[] = [], finalC: Value[] = [];
  for (let d = 0; d < nd; d++) {
    const wd = dirSlice(ctx, w, d), rd = dirSlice(ctx, r, d);
    const bd = bias ? dirSlice(ctx, bias, d) : undefined;
    const wb = bd ? ctx.op("slice", [bd], { starts: [0], ends: [G * H], axes: [0] }) : ctx.op("expand", [ctx.scalar(0, t)], { shape: [G * H] });
    const rb = bd ? ctx.op("slice", [bd], { starts: [G * H], ends: [2 * G * H], axes: [0] }) : wb;
    const fused = fusedLstm && !peep && clip === undefined
      ? { wih: lstmCellOrder(ctx, wd, H), whh: lstmCellOrder(ctx, rd, H), bias: lstmCellOrder(ctx, ctx.op("add", [wb, rb]), H) }
      : undefined;
    // All steps' input projections at once: [T, B, I] × [I, G·H] + Wb.
    const xw = fused ? x : ctx.op("add", [ctx.op("matmul", [x, ctx.op("transpose", [wd], { perm: [1, 0] })]), wb]);
    const h = h0 ? dirSlice(ctx, h0, d) : zeros;
    const c = hasCell ? (c0 ? dirSlice(ctx, c0, d) : zeros) : undefined;
    const p = peep ? dirSlice(ctx, peep, d) : undefined;
    const reverse = direction === "reverse" || d === 1;
    const outs = emitScan(ctx, { carries: c ? [h, c] : [h], sequences: mask ? [xw, mask] : [xw] }, { reverse }, (s, [hs, cs], [xs, m]) => {
      const act = activations(s, cell.defaults, nd).slice(d * per, (d + 1) * per);
      const next = fused
        ? (([hn, cn]) => ({ h: hn!, c: cn }))(s.ops("lstm_cell", [xs!, hs!, cs!, fused.wih, fused.whh, fused.bias]))
        : cell.step({ ctx: s, xw: xs!, h: hs!, c: cs, r: rd, rb, p, act, hidden: H, clip });
      const keep = (now: Value, held: Value) => (m ? s.op("where", [m, now, held]) : now);
      const carries = [keep(next.h, hs!), ...(cs ? [keep(next.c!, cs)] : [])];
      return { carries, ys: [m ? s.op("where", [m, next.h, s.op("zeros_like", [next.h])]) : next.h] };
    });
    finalH.push(outs[0]!);
    if (c) finalC.push(outs[1]!);
    ys.push(outs.at(-1)!); // [T, B, H]
  }
  const stackDirs = (vs: Value[]) => ctx.op("concat", vs.map((v) => ctx.op("unsqueeze", [v], { axes: [0] })), { axis: 0 });
  // Y: [T, nd, B, H]
  let y = ys.length === 1 ? ctx.op("unsqueeze", [ys[0]!], { axes: [1] }) : ctx.op("concat", ys.map((o) => ctx.op("unsqueeze", [o], { axes: [1] })), { axis: 1 });
  let yh = stackDirs(finalH);
  let yc = hasCell ? stackDirs(finalC) : undefined;
  if (layout) {
    y = ctx.op("transpose", [y], { perm: [2, 0, 1, 3] });
    yh = ctx.op("transpose", [yh], { perm: [1, 0, 2] });
    if (yc) yc = ctx.op("transpose", [yc], { perm: [1, 0, 2] });
  }
  return hasCell ? [y, yh, yc] : [y, yh];
}

const table: Record<string, Converter> = {
  RNN: (ctx) => recurrent(ctx, RNN, false),
  GRU: (ctx) => recurrent(ctx, GRU(ctx.attrs.int("linear_before_reset", 0) !== 0), false),
  LSTM: (ctx) => {
    const inputForget = ctx.attrs.int("input_forget", 0) !== 0;
    return recurrent(ctx, LSTM(inputForget), true, !inputForget);
  },
};
registerConverters(table);
