/**
 * fold-constants: a node whose inputs are all constants is evaluated with the reference
 * interpreter, and its outputs become constants (keeping their values' ids and names).
 * Skipped: ops with randomness, and results over `maxElements` elements (folding would
 * trade a cheap kernel for a large blob of data) — unless the op only moves elements and
 * its constant operand has no other reader: then the folded constant replaces one of the
 * same size (dce drops the old one), and the run-time copy goes (MobileNet-v2's classifier
 * weight, 1.28M elements transposed on every run, cost 8 of its 28 ms of kernels on 1
 * thread). Recurses into scan bodies; a scan whose operands are all constants folds like
 * any node (the interpreter runs its loop) unless its body draws random numbers.
 */
import { interpret } from "../interpret.ts";
import type { Constant, Graph, Node, Value } from "../graph.ts";
import { staticSize } from "../types.ts";
import { dataToNumbers, numbersToData } from "./constant-data.ts";
import type { GraphPass } from "./pass.ts";
import { isScan, mapScanBodies, someNode } from "../scan.ts";

/** Ops that draw random numbers: folding would freeze one draw into the graph. */
export const RANDOM_OPS: ReadonlySet<string> = new Set(["dropout"]);

export interface FoldOptions {
  /** Largest total output size folded (default 1e6 elements). */
  readonly maxElements?: number;
}

/** The node's outputs computed from its constant inputs. */
function evaluateNode(n: Node, consts: ReadonlyMap<Value, Constant>): Constant[] {
  // The node alone, its (distinct) constant inputs fed as graph inputs: the interpreter
  // takes numbers, so f16 bits and i64 bigints are decoded here rather than by it.
  const ins = [...new Set(n.inputs)];
  const graph: Graph = { inputs: ins, constants: [], nodes: [n], outputs: n.outputs };
  const feed = ins.map((v) => ({ data: dataToNumbers(v.type.dtype, consts.get(v)!.data), shape: v.type.shape as number[] }));
  const res = interpret(graph, feed);
  return n.outputs.map((o, k) => ({ value: o, data: numbersToData(o.type.dtype, res.outputs[k]!.data) }));
}

/** Ops that rearrange elements without arithmetic or growth (expand grows, so it is not here). */
const MOVES: ReadonlySet<string> = new Set(["transpose", "reshape", "squeeze", "unsqueeze", "layout_transform"]);

const random = (n: Node): boolean => RANDOM_OPS.has(n.op) || (isScan(n) && someNode(n.body, (m) => RANDOM_OPS.has(m.op)));

export function foldConstants(g0: Graph, opts: FoldOptions = {}): Graph {
  const g = mapScanBodies(g0, (body) => foldConstants(body, opts));
  const { maxElements = 1e6 } = opts;
  const consts = new Map<Value, Constant>(g.constants.map((c) => [c.value, c]));
  const readers = new Map<Value, number>();
  for (const n of g.nodes) for (const v of new Set(n.inputs)) readers.set(v, (readers.get(v) ?? 0) + 1);
  for (const v of g.outputs) readers.set(v, (readers.get(v) ?? 0) + 1);
  const moveOfSoleReader = (n: Node): boolean => MOVES.has(n.op) && n.inputs.every((v) => readers.get(v) === 1);
  const folded: Constant[] = [];
  const nodes = g.nodes.filter((n) => {
    if (random(n) || !n.inputs.every((v) => consts.has(v))) return true;
    const sizes = n.outputs.map((o) => staticSize(o.type));
    if (sizes.some((s) => s === null)) return true;
    if (sizes.reduce((a: number, s) => a + s!, 0) > maxElements && !moveOfSoleReader(n)) return true;
    for (const c of evaluateNode(n, consts)) {
      consts.set(c.value, c);
      folded.push(c);
    }
    return false;
  });
  if (folded.length === 0) return g;
  return { ...g, constants: [...g.constants, ...folded], nodes };
}

export const foldConstantsPass: GraphPass = { name: "fold-constants", run: (g) => foldConstants(g) };
