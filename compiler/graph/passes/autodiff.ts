/**
 * Reverse-mode automatic differentiation as a graph pass: appends to a graph the
 * backward graph of a scalar loss with respect to chosen values, built from each op's
 * vector-Jacobian product (compiler/ops/op.ts).
 *
 * - Nodes are visited in reverse topological order; only nodes that both lead to the
 *   loss and depend on some `wrt` value are differentiated (the others cannot carry a
 *   gradient that is asked for).
 * - A value used several times gets the sum (`add`) of the gradients of its uses.
 * - The seed d loss / d loss is `ones_like(loss)`.
 * - A null VJP result means "no gradient flows" (an integer input, an unused output).
 * - A `wrt` value with no path to the loss gets `zeros_like(wrt)`: the gradient of a
 *   function that does not depend on a value is zero, and callers (optimizers) can then
 *   treat every parameter alike.
 * - Nodes a VJP created that feed no requested gradient (e.g. the gradient of a data
 *   input) are dropped again, so the result holds no dead backward work.
 *
 * The result's outputs are the original outputs followed by the gradients, in `wrt` order.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { isFloat } from "../../../core/dtype.ts";
import { getOp } from "../../ops/registry.ts";
import { GraphBuilder } from "../builder.ts";
import type { Graph, Node, Value } from "../graph.ts";
import { sameType, showType } from "../types.ts";

export interface AutodiffResult {
  /** `g` with the backward nodes appended; outputs: g's outputs, then `grads`. */
  readonly graph: Graph;
  /** d loss / d wrt[k], each with wrt[k]'s type. */
  readonly grads: Value[];
}

/** Values of `g` that `loss` depends on (including loss itself). */
function ancestorsOf(g: Graph, loss: Value): Set<Value> {
  const producer = new Map<Value, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const seen = new Set<Value>([loss]);
  const stack = [loss];
  while (stack.length > 0) {
    const node = producer.get(stack.pop()!);
    if (!node) continue;
    for (const v of node.inputs) if (!seen.has(v)) { seen.add(v); stack.push(v); }
  }
  return seen;
}

/** Values of `g` that depend on some value in `wrt` (including the wrt values). */
function descendantsOf(g: Graph, wrt: readonly Value[]): Set<Value> {
  const seen = new Set<Value>(wrt);
  for (const n of g.nodes) {
    if (n.inputs.some((v) => seen.has(v))) n.outputs.forEach((o) => seen.add(o));
  }
  return seen;
}

function checkMembership(g: Graph, v: Value, role: string): void {
  const known = g.inputs.includes(v) || g.constants.some((c) => c.value === v) || g.nodes.some((n) => n.outputs.includes(v));
  if (!known) throw new LatheError(`autodiff: ${role} ${v.name} (id ${v.id}) is not a value of this graph`);
}

export function autodiff(g: Graph, loss: Value, wrt: readonly Value[]): AutodiffResult {
  checkMembership(g, loss, "loss");
  wrt.forEach((v) => checkMembership(g, v, "wrt value"));
  if (loss.type.shape.length !== 0) {
    throw new ShapeError(`autodiff: loss ${loss.name} must be a scalar (shape []), got ${showType(loss.type)}`);
  }
  if (!isFloat(loss.type.dtype)) throw new ShapeError(`autodiff: loss ${loss.name} must be a float, got ${showType(loss.type)}`);

  const toLoss = ancestorsOf(g, loss);
  const fromWrt = descendantsOf(g, wrt);
  /** Values whose gradient is worth computing: on some path wrt → loss. */
  const active = (v: Value): boolean => toLoss.has(v) && fromWrt.has(v) && isFloat(v.type.dtype);

  const b = GraphBuilder.from(g);
  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, gv: Value, node: Node): void => {
    if (!sameType(gv.type, v.type)) {
      throw new ShapeError(`autodiff: the VJP of node ${node.name} (${node.op}) gives ${v.name} (${showType(v.type)}) a gradient of type ${showType(gv.type)}`);
    }
    const prev = grads.get(v);
    grads.set(v, prev ? b.op1("add", [prev, gv], {}, `grad_${v.name}`) : gv);
  };

  if (active(loss)) grads.set(loss, b.op1("ones_like", [loss], {}, `grad_${loss.name}`));
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.inputs.some(active)) continue;
    const outGrads = node.outputs.map((o) => grads.get(o) ?? null);
    if (outGrads.every((x) => x === null)) continue;
    const inGrads = getOp(node.op, node.name).vjp({ node, b }, outGrads);
    if (inGrads.length !== node.inputs.length) {
      throw new LatheError(`autodiff: the VJP of node ${node.name} (${node.op}) returned ${inGrads.length} gradients for ${node.inputs.length} inputs`);
    }
    inGrads.forEach((gv, k) => {
      const v = node.inputs[k]!;
      if (gv !== null && active(v)) accumulate(v, gv, node);
    });
  }

  const result = wrt.map((v) => grads.get(v) ?? b.op1("zeros_like", [v], {}, `grad_${v.name}`));
  const full = b.build([...g.outputs, ...result]);
  return { graph: pruneAppended(full, g.nodes.length), grads: result };
}

/** Drops nodes after the first `keep` that no output depends on (VJP work nobody asked for). */
function pruneAppended(g: Graph, keep: number): Graph {
  const live = new Set<Value>(g.outputs);
  const kept: Node[] = [];
  for (let i = g.nodes.length - 1; i >= keep; i--) {
    const n = g.nodes[i]!;
    if (!n.outputs.some((o) => live.has(o))) continue;
    kept.push(n);
    n.inputs.forEach((v) => live.add(v));
  }
  return { ...g, nodes: [...g.nodes.slice(0, keep), ...kept.reverse()] };
}
