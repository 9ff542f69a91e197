/**
 * The VJP of a scan node: a scan running the other way whose body is the VJP of the
 * forward body, as JAX transposes `lax.scan`.
 *
 * Forward body F: (c, x_t, w) → (c', y_t). Backward body B, run t = T−1 … 0 (or 0 … T−1
 * for a reverse forward scan):
 *
 *   carries      dc (one per float carry), acc_w (one per invariant needing a gradient)
 *   sequences    dy_t (outputs that got a gradient), x_t (the inputs B reads), saved_t
 *   invariants   the w B reads
 *   outputs      dc_prev = dF/dc·(dc, dy_t), acc_w + dF/dw·(…), dx_t
 *
 * `saved` are the forward body's per-step values B reads: its carry inputs and
 * intermediate values. The forward node is replaced by one that also outputs them stacked
 * (extra stacked outputs of the same loop), so the backward pass reads each step's
 * activations instead of recomputing them; memory planning keeps those stacks alive until
 * the backward scan has run, as any value's. Forward values that depend on no carry and
 * no sequence (computed from invariants alone) are recomputed in B instead of being
 * stacked T times. A new carry B reads (an LSTM cell's c') is not stacked either: it is
 * the carry input of the step that ran next, which B read one step earlier, so B carries
 * it back (starting from the final carry). Invariants' gradients are summed over the
 * steps in carried accumulators, not stacked and reduced afterwards.
 */
import { LatheError } from "../../../core/errors.ts";
import { isFloat } from "../../../core/dtype.ts";
import { GraphBuilder } from "../builder.ts";
import type { Constant, Graph, Node, Value } from "../graph.ts";
import type { ScanNode } from "../scan.ts";
import { isScan, scanAttrs, scanLength, someNode } from "../scan.ts";
import { RANDOM_OPS } from "./fold-constants.ts";

/** autodiff.ts's backward pass, passed in (it calls this file back for nested scans). */
export type Backprop = (g: Graph, b: GraphBuilder, seeds: ReadonlyMap<Value, Value>, wrt: readonly Value[]) => Map<Value, Value>;

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const draws = (n: Node): boolean => RANDOM_OPS.has(n.op) || (isScan(n) && someNode(n.body, (m) => RANDOM_OPS.has(m.op)));

/**
 * Gradients of `node`'s inputs given its outputs' (`outGrads`); `need[k]`: whether input k
 * wants one. Appends the backward scan to `b` and replaces `node` there by its saving form.
 */
export function scanVjp(node: ScanNode, b: GraphBuilder, outGrads: readonly (Value | null)[], need: readonly boolean[], backprop: Backprop): (Value | null)[] {
  const attrs = scanAttrs(node.attrs, node.name);
  const { carries: C, sequences: S } = attrs;
  const F = node.body;
  const I = node.inputs.length - C - S, Y = F.outputs.length - C;
  const float = (v: Value) => isFloat(v.type.dtype);
  // Cotangents flow through every float carry, whichever initial carry wants a gradient.
  const carryIx = range(C).filter((k) => float(F.inputs[k]!));
  const seqIx = range(S).filter((j) => need[C + j] && float(F.inputs[C + j]!));
  const invIx = range(I).filter((i) => need[C + S + i] && float(F.inputs[C + S + i]!));
  const yIx = range(Y).filter((j) => outGrads[C + j] && float(F.outputs[C + j]!));

  // The forward body's backward pass, seeded with the cotangent inputs.
  const fb = GraphBuilder.from(F);
  const dc = carryIx.map((k) => fb.newValue(`d_${F.inputs[k]!.name}`, F.inputs[k]!.type));
  const acc = invIx.map((i) => fb.newValue(`acc_${F.inputs[C + S + i]!.name}`, F.inputs[C + S + i]!.type));
  const dy = yIx.map((j) => fb.newValue(`d_${F.outputs[C + j]!.name}`, F.outputs[C + j]!.type));
  const seeds = new Map<Value, Value>();
  const seed = (v: Value, s: Value) => { const prev = seeds.get(v); seeds.set(v, prev ? fb.op1("add", [prev, s]) : s); };
  carryIx.forEach((k, a) => seed(F.outputs[k]!, dc[a]!));
  yIx.forEach((j, a) => seed(F.outputs[C + j]!, dy[a]!));
  const wrt = [...carryIx.map((k) => F.inputs[k]!), ...seqIx.map((j) => F.inputs[C + j]!), ...invIx.map((i) => F.inputs[C + S + i]!)];
  const grads = backprop(F, fb, seeds, wrt);
  const dxIx = seqIx.filter((j) => grads.has(F.inputs[C + j]!));
  const outs = [
    ...carryIx.map((k, a) => grads.get(F.inputs[k]!) ?? fb.op1("zeros_like", [dc[a]!])),
    ...invIx.map((i, a) => { const gw = grads.get(F.inputs[C + S + i]!); return gw ? fb.op1("add", [acc[a]!, gw]) : acc[a]!; }),
    ...dxIx.map((j) => grads.get(F.inputs[C + j]!)!),
  ];
  const all = fb.build(outs);
  const fwd = all.nodes.slice(0, F.nodes.length); // F's nodes; nested scans now in their saving form
  const bwd = all.nodes.slice(F.nodes.length);

  // Forward values that vary per step (depend on a carry or a sequence, or draw random numbers).
  const varying = new Set<Value>(F.inputs.slice(0, C + S));
  for (const n of fwd) if (draws(n) || n.inputs.some((v) => varying.has(v))) n.outputs.forEach((o) => varying.add(o));
  const fwdBy = new Map<Value, Node>(), bwdBy = new Map<Value, Node>();
  fwd.forEach((n) => n.outputs.forEach((o) => fwdBy.set(o, n)));
  bwd.forEach((n) => n.outputs.forEach((o) => bwdBy.set(o, n)));
  const constants = new Map<Value, Constant>(all.constants.map((c) => [c.value, c]));
  const own = new Set<Value>([...dc, ...acc, ...dy]);

  // What B reads, walking back from its outputs: its own nodes, the forward nodes it
  // recomputes, and at the boundary the saved values, sequences, invariants and constants.
  const used = new Set<Node>(), saved: Value[] = [], usedSeq = new Set<number>(), usedInv = new Set<number>(), usedConst = new Set<Value>();
  const seen = new Set<Value>();
  const stack = [...outs];
  while (stack.length) {
    const v = stack.pop()!;
    if (seen.has(v) || own.has(v)) continue;
    seen.add(v);
    if (constants.has(v)) { usedConst.add(v); continue; }
    const k = F.inputs.indexOf(v);
    if (k >= 0) {
      if (k < C) saved.push(v);
      else if (k < C + S) usedSeq.add(k - C);
      else usedInv.add(k - C - S);
      continue;
    }
    const n = bwdBy.get(v) ?? (varying.has(v) ? undefined : fwdBy.get(v));
    if (n) { used.add(n); stack.push(...n.inputs); continue; }
    if (fwdBy.has(v)) { saved.push(v); continue; }
    throw new LatheError(`autodiff: the VJP of scan node ${node.name} reads ${v.name}, which its body does not define`);
  }
  // A new carry the backward body reads is the carry input of the step that ran after this
  // one, which the backward scan read one step earlier: carried back instead of stacked.
  const carriedBack = range(C).filter((k) => saved.includes(F.outputs[k]!) && saved.includes(F.inputs[k]!) && fwdBy.has(F.outputs[k]!));
  for (const k of carriedBack) saved.splice(saved.indexOf(F.outputs[k]!), 1);
  // A backward scan with nothing to scan still runs T steps: a forward sequence rides along for its length.
  const seqsB = yIx.length + usedSeq.size + saved.length;
  if (seqsB === 0 && S > 0) usedSeq.add(0);
  const seqList = [...usedSeq].sort((a, c) => a - c), invList = [...usedInv].sort((a, c) => a - c);
  const B: Graph = {
    inputs: [...dc, ...acc, ...carriedBack.map((k) => F.outputs[k]!), ...dy, ...seqList.map((j) => F.inputs[C + j]!), ...saved, ...invList.map((i) => F.inputs[C + S + i]!)],
    constants: all.constants.filter((c) => usedConst.has(c.value)),
    nodes: all.nodes.filter((n) => used.has(n)),
    outputs: [...outs.slice(0, carryIx.length + invIx.length), ...carriedBack.map((k) => F.inputs[k]!), ...outs.slice(carryIx.length + invIx.length)],
  };

  // The forward node in its saving form: the same loop, also stacking `saved`.
  const T = scanLength(node.inputs.map((v) => v.type), attrs, node.name);
  const stackedSaved = saved.map((v) => b.newValue(`${node.name}.saved_${v.name}`, { shape: [T, ...v.type.shape], dtype: v.type.dtype }));
  b.replaceNode(node, { ...node, outputs: [...node.outputs, ...stackedSaved], body: { ...F, nodes: fwd, outputs: [...F.outputs, ...saved] } });

  const backward = b.scan(B, {
    carries: [...carryIx.map((k) => outGrads[k] ?? b.op1("zeros_like", [node.inputs[k]!])), ...invIx.map((i) => b.op1("zeros_like", [node.inputs[C + S + i]!])),
      ...carriedBack.map((k) => node.outputs[k]!)],
    sequences: [...yIx.map((j) => outGrads[C + j]!), ...seqList.map((j) => node.inputs[C + j]!), ...stackedSaved],
    invariants: invList.map((i) => node.inputs[C + S + i]!),
  }, { reverse: !attrs.reverse, length: seqList.length + yIx.length + saved.length > 0 ? -1 : attrs.length }, `${node.name}_vjp`);

  const result: (Value | null)[] = node.inputs.map(() => null);
  carryIx.forEach((k, a) => { result[k] = backward[a]!; });
  invIx.forEach((i, a) => { result[C + S + i] = backward[carryIx.length + a]!; });
  dxIx.forEach((j, a) => { result[C + j] = backward[carryIx.length + invIx.length + carriedBack.length + a]!; });
  return result;
}
