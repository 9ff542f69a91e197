/**
 * lstm_cell(x [B, I], h [B, H], c [B, H], w_ih [4H, I], w_hh [4H, H], bias [4H]) → (h', c'),
 * one step of the standard LSTM with gates stacked in the order i, f, g, o along w's rows
 * (PyTorch's layout, with its two biases summed into one):
 *   z = x·w_ihᵀ + h·w_hhᵀ + bias;  i = σ(z_i), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
 *   c' = f·c + i·g;  h' = o·tanh(c')
 * The compute rule is one op (two matmul stages and the gate stage), so the cell fuses and
 * schedules as a unit; its VJP is written through the gates with basic ops and matmul
 * (recomputing z rather than keeping it as a hidden output).
 */
import type { Value } from "../../graph/graph.ts";
import type { GraphEmitter } from "../../graph/graph.ts";
import type { TensorType } from "../../graph/types.ts";
import { sameDim } from "../../graph/types.ts";
import { add, call, mul } from "../../te/expr.ts";
import type { Expr } from "../../te/expr.ts";
import type { Tensor as TeTensor } from "../../te/tensor.ts";
import { compute, reduceAxis, sum } from "../../te/tensor.ts";
import type { OpDef } from "../op.ts";
import { defineOp } from "../op.ts";
import { expectArity, expectFloat, expectSameDtype, shapeError } from "./common.ts";

function inferLstm(inputs: readonly TensorType[], node: string): TensorType[] {
  const op = "lstm_cell";
  expectArity(node, op, inputs, 6);
  expectFloat(node, op, inputs, [0, 1, 2, 3, 4, 5]);
  const dtype = expectSameDtype(node, op, inputs, [0, 1, 2, 3, 4, 5]);
  const [x, h, c, wih, whh, bias] = inputs as [TensorType, TensorType, TensorType, TensorType, TensorType, TensorType];
  const ranks = [2, 2, 2, 2, 2, 1];
  inputs.forEach((t, k) => { if (t.shape.length !== ranks[k]) throw shapeError(node, op, `input ${k} must have rank ${ranks[k]}`, inputs); });
  const [B, I] = x.shape as [TensorType["shape"][number], TensorType["shape"][number]];
  const H = h.shape[1]!;
  if (typeof H !== "number") throw shapeError(node, op, `the hidden size must be static (w's rows are 4·hidden), got ${H}`, inputs);
  const want: [TensorType, string, readonly (typeof H | string)[]][] = [
    [h, "h", [B, H]], [c, "c", [B, H]], [wih, "w_ih", [4 * H, I]], [whh, "w_hh", [4 * H, H]], [bias, "bias", [4 * H]],
  ];
  for (const [t, what, shape] of want) {
    if (!shape.every((d, k) => sameDim(t.shape[k]!, d))) throw shapeError(node, op, `${what} must be [${shape.join(", ")}]`, inputs);
  }
  const out = { shape: [B, H], dtype };
  return [out, out];
}

export function lstmCompute(inputs: readonly TeTensor[], hidden: number, name: string): TeTensor[] {
  const [x, h, c, wih, whh, bias] = inputs as [TeTensor, TeTensor, TeTensor, TeTensor, TeTensor, TeTensor];
  const B = x.shape[0]!, G = 4 * hidden;
  const ri = reduceAxis(x.shape[1]!, "ri"), rh = reduceAxis(hidden, "rh");
  const XW = compute([B, G], (b, j) => sum(ri, mul(x.at(b!, ri.var), wih.at(j!, ri.var))), `${name}.xw`);
  const HW = compute([B, G], (b, j) => sum(rh, mul(h.at(b!, rh.var), whh.at(j!, rh.var))), `${name}.hw`);
  const Z = compute([B, G], (b, j) => add(add(XW.at(b!, j!), HW.at(b!, j!)), bias.at(j!)), `${name}.gates`);
  const gate = (b: Expr, j: Expr, k: number): Expr => Z.at(b, add(j, k * hidden));
  const sig = (e: Expr) => call("sigmoid", e);
  const C2 = compute([B, hidden], (b, j) =>
    add(mul(sig(gate(b!, j!, 1)), c.at(b!, j!)), mul(sig(gate(b!, j!, 0)), call("tanh", gate(b!, j!, 2)))), `${name}.c`);
  const H2 = compute([B, hidden], (b, j) => mul(sig(gate(b!, j!, 3)), call("tanh", C2.at(b!, j!))), `${name}.h`);
  return [H2, C2];
}

function lstmVjp(b: GraphEmitter, inputs: readonly Value[], c2: Value, gh: Value | null, gc: Value | null): (Value | null)[] {
  if (!gh && !gc) return [null, null, null, null, null, null];
  const [x, h, c, wih, whh, bias] = inputs as [Value, Value, Value, Value, Value, Value];
  const H = h.type.shape[1] as number;
  const op = (name: string, ins: Value[], attrs = {}) => b.op1(name, ins, attrs);
  const T = (v: Value) => op("transpose", [v], { perm: [1, 0] });
  const oneMinus = (v: Value) => op("sub", [op("ones_like", [v]), v]);
  const z = op("add", [op("add", [op("matmul", [x, T(wih)]), op("matmul", [h, T(whh)])]), bias]);
  const [zi, zf, zg, zo] = b.op("split", [z], { axis: 1, sizes: [H, H, H, H] }) as [Value, Value, Value, Value];
  const i = op("sigmoid", [zi]), f = op("sigmoid", [zf]), g = op("tanh", [zg]), o = op("sigmoid", [zo]);
  const tc = op("tanh", [c2]);
  // dc' = gc + gh·o·(1 − tanh²c');  do = gh·tanh c'
  const viaH = gh ? op("mul", [op("mul", [gh, o]), oneMinus(op("mul", [tc, tc]))]) : null;
  const dc = gc && viaH ? op("add", [gc, viaH]) : (gc ?? viaH)!;
  const dzi = op("mul", [op("mul", [dc, g]), op("mul", [i, oneMinus(i)])]);
  const dzf = op("mul", [op("mul", [dc, c]), op("mul", [f, oneMinus(f)])]);
  const dzg = op("mul", [op("mul", [dc, i]), oneMinus(op("mul", [g, g]))]);
  const dzo = gh ? op("mul", [op("mul", [gh, tc]), op("mul", [o, oneMinus(o)])]) : op("zeros_like", [zo]);
  const dz = b.op1("concat", [dzi, dzf, dzg, dzo], { axis: 1 });
  return [
    op("matmul", [dz, wih]),
    op("matmul", [dz, whh]),
    op("mul", [dc, f]),
    op("matmul", [T(dz), x]),
    op("matmul", [T(dz), h]),
    op("sum", [dz], { axes: [0] }),
  ];
}

export const lstmCell: OpDef = defineOp({
  name: "lstm_cell",
  fusion: "opaque",
  attrs: {},
  infer: (inputs, _a, node) => inferLstm(inputs, node),
  compute: (inputs, _a, ctx) => lstmCompute(inputs, ctx.outputs[0]!.shape[1] as number, ctx.name),
  vjp: ({ node, b }, [gh, gc]) => lstmVjp(b, node.inputs, node.outputs[1]!, gh ?? null, gc ?? null),
});
