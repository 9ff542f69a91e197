/**
 * quantize: a float inference graph → int8 weights and activations with int32 accumulation.
 *
 * Scales are powers of two (x ≈ q · 2^exp), per tensor and symmetric, so every rescaling is
 * a shift. Calibration runs the float graph through the reference interpreter on sample
 * batches and takes each value's max |x|; its exponent is the smallest e with
 * max|x| / 2^e ≤ 127. Then:
 *   conv2d(x, W) (W constant, groups 1, dilation 1) → qconv2d(q(x), q(W))        int32, exp ex + ew
 *   matmul(x, W) (W constant [K, O])                → qmatmul(q(x), q(Wᵀ))       int32
 *   each product is followed by requantize(shift = e_out − ex − ew, relu): a ReLU that
 *   is the product's only consumer is fused into it, and e_out is calibrated on the
 *   ReLU's output. A negative shift (output range smaller than the product's precision)
 *   is raised to 0, which keeps e_out = ex + ew. A shift above 15 (the rounding bias
 *   2^(s−1) must fit the ALU's 16-bit immediate) quantizes W at the coarser exponent
 *   e_out − 15 − ex instead: the product then still resolves 2^-15 of the output's step.
 *   (A random dense layer with a wide fan-in reached 16 in the fuzzer, seed 20261207.)
 *   relu, reshape, transpose, squeeze, unsqueeze run unchanged on int8 (they commute with
 *   a positive scale).
 * Any other op reads dequantized inputs and stays float; outputs are dequantized. The
 * int8 semantics of the result are exactly those of the quant ops' compute rules, so the
 * reference interpreter is the bit-exact reference for the accelerator.
 */
import { LatheError } from "../../../core/errors.ts";
import { GraphBuilder } from "../builder.ts";
import type { Graph, Node, Value } from "../graph.ts";
import { interpret } from "../interpret.ts";
import { INT8_MAX, MAX_SHIFT } from "../../ops/quant/common.ts";
import type { ScanNode } from "../scan.ts";
import { isScan, scanAttrs } from "../scan.ts";

export interface CalibrationInput { readonly data: ArrayLike<number>; readonly shape: readonly number[] }

export interface QuantizeOptions {
  /** Calibration batches: each is one array per graph input. */
  readonly calibration: readonly (readonly CalibrationInput[])[];
}

export interface QuantizeResult {
  readonly graph: Graph;
  /** The exponent of every int8 (or int32) value of the new graph, by value name. */
  readonly exps: ReadonlyMap<string, number>;
}

/** Ops applied unchanged to int8 values. */
const INT8_PASSTHROUGH: ReadonlySet<string> = new Set(["relu", "reshape", "transpose", "squeeze", "unsqueeze"]);

/** Smallest e with maxAbs / 2^e ≤ 127 (0 for an all-zero tensor). */
export function exponentFor(maxAbs: number): number {
  if (!(maxAbs > 0)) return 0;
  let e = Math.ceil(Math.log2(maxAbs / INT8_MAX));
  while (maxAbs / 2 ** e > INT8_MAX) e++; // log2 rounding at exact powers
  while (maxAbs / 2 ** (e - 1) <= INT8_MAX) e--;
  return e;
}

/** max |x| of every value of `g` over the calibration batches. */
export function calibrate(g: Graph, batches: QuantizeOptions["calibration"]): Map<Value, number> {
  if (batches.length === 0) throw new LatheError("quantize: at least one calibration batch is needed");
  const maxAbs = new Map<Value, number>();
  for (const batch of batches) {
    const { values } = interpret(g, batch);
    for (const [v, { data }] of values) {
      let m = maxAbs.get(v) ?? 0;
      for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(data[i]!));
      maxAbs.set(v, m);
    }
  }
  return maxAbs;
}

interface Quantized { readonly v: Value; readonly exp: number }

function quantizeConstant(data: ArrayLike<number>, exp: number): Int8Array {
  return Int8Array.from(data, (x) => Math.max(-128, Math.min(127, Math.floor(x * 2 ** -exp + 0.5))));
}

/** Wᵀ of a row-major [K, O] matrix, as [O, K]. */
function transpose2(data: ArrayLike<number>, K: number, O: number): Float64Array {
  const out = new Float64Array(K * O);
  for (let k = 0; k < K; k++) for (let o = 0; o < O; o++) out[o * K + k] = data[k * O + o]!;
  return out;
}

export function quantizeGraph(g: Graph, opts: QuantizeOptions): QuantizeResult {
  const maxAbs = calibrate(g, opts.calibration);
  const b = new GraphBuilder();
  const exps = new Map<string, number>();
  const floatOf = new Map<Value, Value>(); // old value → new float value
  const intOf = new Map<Value, Quantized>(); // old value → new int8 value
  const constData = new Map(g.constants.map((c) => [c.value, c.data] as const));
  const consumers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) consumers.set(v, [...(consumers.get(v) ?? []), n]);
  const isOutput = new Set(g.outputs);

  for (const v of g.inputs) floatOf.set(v, b.input(v.name, v.type.shape, v.type.dtype));
  const floatValue = (v: Value): Value => {
    const f = floatOf.get(v);
    if (f) return f;
    const data = constData.get(v);
    if (data) { const c = b.constant(v.name, data, v.type.shape, v.type.dtype); floatOf.set(v, c); return c; }
    const q = intOf.get(v);
    if (!q) throw new LatheError(`quantize: value ${v.name} is used before it is defined`);
    const d = b.op1("dequantize", [q.v], { exp: q.exp }, `${v.name}.dq`);
    floatOf.set(v, d);
    return d;
  };
  const intValue = (v: Value): Quantized => {
    const q = intOf.get(v);
    if (q) return q;
    const exp = exponentFor(maxAbs.get(v) ?? 0);
    const out = { v: b.op1("quantize", [floatValue(v)], { exp }, `${v.name}.q`), exp };
    exps.set(out.v.name, exp);
    intOf.set(v, out);
    return out;
  };
  /** W quantized at its own exponent, or at `minExp` when that is coarser. */
  const weight = (node: Node, w: Value, transposed: boolean, minExp: number): Quantized => {
    const data = constData.get(w);
    if (!data) throw new LatheError(`quantize: node ${node.name} (${node.op}): weight ${w.name} must be a constant`);
    let m = 0;
    for (let i = 0; i < data.length; i++) m = Math.max(m, Math.abs(Number(data[i]!)));
    const exp = Math.max(exponentFor(m), minExp);
    const [K, O] = w.type.shape as number[];
    const src = transposed ? transpose2(data as ArrayLike<number>, K!, O!) : (data as ArrayLike<number>);
    const shape = transposed ? [O!, K!] : w.type.shape;
    const c = b.constant(`${w.name}.q`, quantizeConstant(src, exp), shape, "i8");
    exps.set(c.name, exp);
    return { v: c, exp };
  };
  const quantizable = (n: Node): boolean => {
    const w = n.inputs[1];
    if (!w || !constData.has(w) || n.inputs[0]!.type.dtype !== "f32" && n.inputs[0]!.type.dtype !== "f64") return false;
    if (n.op === "conv2d") {
      const dil = n.attrs.dilations as readonly number[];
      return n.attrs.groups === 1 && dil.every((d) => d === 1) && n.inputs.length === 2;
    }
    // qmatmul reads x·W as stored: a product with a transposed operand stays in floating point.
    return n.op === "matmul" && n.attrs["transA"] !== true && n.attrs["transB"] !== true
      && n.inputs[0]!.type.shape.length === 2 && w.type.shape.length === 2;
  };

  for (const n of g.nodes) {
    if (intOf.has(n.outputs[0]!) || floatOf.has(n.outputs[0]!)) continue; // a ReLU fused into its producer
    if (quantizable(n)) {
      const x = intValue(n.inputs[0]!);
      const conv = n.op === "conv2d";
      const out = n.outputs[0]!;
      const users = consumers.get(out) ?? [];
      const relu = users.length === 1 && users[0]!.op === "relu" && !isOutput.has(out) ? users[0]! : null;
      const final = relu ? relu.outputs[0]! : out;
      const outExp = exponentFor(maxAbs.get(final) ?? 0);
      const w = weight(n, n.inputs[1]!, !conv, outExp - MAX_SHIFT - x.exp);
      const acc = conv
        ? b.op1("qconv2d", [x.v, w.v], { strides: n.attrs.strides!, pads: n.attrs.pads! }, n.name)
        : b.op1("qmatmul", [x.v, w.v], {}, n.name);
      const accExp = x.exp + w.exp;
      const shift = Math.max(0, outExp - accExp);
      const q = b.op1("requantize", [acc], { shift, relu: relu !== null }, `${(relu ?? n).name}.rq`);
      exps.set(q.name, accExp + shift);
      intOf.set(final, { v: q, exp: accExp + shift });
      continue;
    }
    if (INT8_PASSTHROUGH.has(n.op) && intOf.has(n.inputs[0]!) && n.inputs.length === 1) {
      const q = intOf.get(n.inputs[0]!)!;
      const out = b.op1(n.op, [q.v], n.attrs, n.name);
      exps.set(out.name, q.exp);
      intOf.set(n.outputs[0]!, { v: out, exp: q.exp });
      continue;
    }
    const ins = n.inputs.map(floatValue);
    // A scan stays a float loop: its body is not quantized (opaque to this pass).
    const outs = isScan(n) ? copyScan(b, n, ins) : b.op(n.op, ins, n.attrs, n.name);
    n.outputs.forEach((o, k) => floatOf.set(o, outs[k]!));
  }
  return { graph: b.build(g.outputs.map(floatValue)), exps };
}

/** Scan `n` again, on operands `ins`. */
function copyScan(b: GraphBuilder, n: ScanNode, ins: readonly Value[]): Value[] {
  const { carries: C, sequences: S, reverse, length } = scanAttrs(n.attrs, n.name);
  return b.scan(n.body, { carries: ins.slice(0, C), sequences: ins.slice(C, C + S), invariants: ins.slice(C + S) }, { reverse, length }, n.name);
}
