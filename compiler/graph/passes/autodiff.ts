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
 * - A scan node's VJP is a reverse scan whose body is the VJP of the forward body
 *   (scan-vjp.ts); the forward node is replaced by one that also outputs, stacked per
 *   step, the values that body reads.
 *
 * The result's outputs are the original outputs followed by the gradients, in `wrt` order.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { isFloat } from "../../../core/dtype.ts";
import { getOp } from "../../ops/registry.ts";
import { GraphBuilder } from "../builder.ts";
import type { Graph, Node, Value } from "../graph.ts";
import { sameType, showType } from "../types.ts";
import { isScan } from "../scan.ts";
import { scanVjp } from "./scan-vjp.ts";

export interface AutodiffResult {
  /** `g` with the backward nodes appended; outputs: g's outputs, then `grads`. */
  readonly graph: Graph;
  /** d loss / d wrt[k], each with wrt[k]'s type. */
  readonly grads: Value[];
}

/** Values of `g` that `roots` depend on (including the roots). */
function ancestorsOf(g: Graph, roots: readonly Value[]): Set<Value> {
  const producer = new Map<Value, Node>();
  for (const n of g.nodes) for (const o of n.outputs) producer.set(o, n);
  const seen = new Set<Value>(roots);
  const stack = [...roots];
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

  const b = GraphBuilder.from(g);
  // The seed d loss / d loss; dropped again with the rest of the unused backward work when no wrt value reaches the loss.
  const grads = backprop(g, b, new Map([[loss, b.op1("ones_like", [loss], {}, `grad_${loss.name}`)]]), wrt);
  const result = wrt.map((v) => grads.get(v) ?? b.op1("zeros_like", [v], {}, `grad_${v.name}`));
  const full = b.build([...g.outputs, ...result]);
  return { graph: pruneAppended(full, g.nodes.length), grads: result };
}

/**
 * The backward pass of `g` for the cotangents `seeds` (a value of g → its cotangent, a
 * value of `b`), appended to `b`, a builder continuing `g`: returns the gradient of every
 * value on a path from some `wrt` value to a seeded one. A scan node's VJP (scan-vjp.ts)
 * replaces the node in `b` by one that also saves what its backward scan reads.
 */
export function backprop(g: Graph, b: GraphBuilder, seeds: ReadonlyMap<Value, Value>, wrt: readonly Value[]): Map<Value, Value> {
  const toSeeds = ancestorsOf(g, [...seeds.keys()]);
  const fromWrt = descendantsOf(g, wrt);
  /** Values whose gradient is worth computing: on some path wrt → seed. */
  const active = (v: Value): boolean => toSeeds.has(v) && fromWrt.has(v) && isFloat(v.type.dtype);

  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, gv: Value, node: Node | null): void => {
    if (!sameType(gv.type, v.type)) {
      const by = node ? `the VJP of node ${node.name} (${node.op})` : "the seed";
      throw new ShapeError(`autodiff: ${by} gives ${v.name} (${showType(v.type)}) a gradient of type ${showType(gv.type)}`);
    }
    const prev = grads.get(v);
    grads.set(v, prev ? b.op1("add", [prev, gv], {}, `grad_${v.name}`) : gv);
  };

  for (const [v, s] of seeds) if (active(v)) accumulate(v, s, null);
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const node = g.nodes[i]!;
    if (!node.inputs.some(active)) continue;
    const outGrads = node.outputs.map((o) => grads.get(o) ?? null);
    if (outGrads.every((x) => x === null)) continue;
    const inGrads = isScan(node)
      ? scanVjp(node, b, outGrads, node.inputs.map(active), backprop)
      : getOp(node.op, node.name).vjp({ node, b }, outGrads);
    if (inGrads.length !== node.inputs.length) {
      throw new LatheError(`autodiff: the VJP of node ${node.name} (${node.op}) returned ${inGrads.length} gradients for ${node.inputs.length} inputs`);
    }
    inGrads.forEach((gv, k) => {
      const v = node.inputs[k]!;
      if (gv !== null && active(v)) accumulate(v, gv, node);
    });
  }
  return grads;
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
