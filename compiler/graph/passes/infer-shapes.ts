/**
 * infer-shapes: re-infers every node's output types through the op registry, in order, so
 * a change to an input's type reaches every value. Recurses into scan bodies: a body's
 * inputs take the types the scan's operands now give them, and its nodes are re-inferred.
 */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { getOp, normalizeAttrs } from "../../ops/registry.ts";
import type { Graph, Node, Value } from "../graph.ts";
import type { TensorType } from "../types.ts";
import { sameType, showType } from "../types.ts";
import type { GraphPass } from "./pass.ts";
import type { ScanNode } from "../scan.ts";
import { inferScan, isScan, scanAttrs } from "../scan.ts";

function inferNode(n: Node, inputs: readonly Value[]): readonly TensorType[] {
  const what = `node ${n.name} (${n.op}) with inputs ${inputs.map((v) => `${v.name}: ${showType(v.type)}`).join(", ") || "none"}`;
  try {
    const op = getOp(n.op, n.name);
    const types = op.infer(inputs.map((v) => v.type), normalizeAttrs(op, n.attrs, n.name), n.name);
    if (types.length !== n.outputs.length) throw new ShapeError(`${what}: the op gives ${types.length} outputs, the node has ${n.outputs.length}`);
    return types;
  } catch (e) {
    if (!(e instanceof LatheError)) throw e;
    // Ops name the node in their messages; say which node and inputs when one does not.
    if (e instanceof ShapeError && e.message.includes(n.name)) throw e;
    throw new ShapeError(`${what}: ${e.message}`);
  }
}

/** The body of scan `n` re-inferred with the input types its operands `inputs` give it. */
function inferBody(n: ScanNode, inputs: readonly Value[]): Graph {
  const { carries: C, sequences: S } = scanAttrs(n.attrs, n.name);
  const want = inputs.map((v, k): TensorType => (k >= C && k < C + S ? { shape: v.type.shape.slice(1), dtype: v.type.dtype } : v.type));
  const retyped = new Map<Value, Value>();
  n.body.inputs.forEach((v, k) => { if (want[k] && !sameType(v.type, want[k])) retyped.set(v, { ...v, type: want[k] }); });
  return inferShapesFrom(n.body, retyped);
}

export function inferShapes(g: Graph): Graph {
  return inferShapesFrom(g, new Map());
}

/** infer-shapes with some graph inputs already given new types (`retyped`: old value → the same value retyped). */
function inferShapesFrom(g: Graph, retyped: ReadonlyMap<Value, Value>): Graph {
  const subst = new Map<Value, Value>(retyped);
  let changed = retyped.size > 0;
  const nodes = g.nodes.map((n) => {
    const inputs = n.inputs.map((v) => subst.get(v) ?? v);
    let body = n.body;
    if (isScan(n)) body = inferBody(n, inputs);
    const types = isScan(n) ? inferScanNode(n, inputs, body!) : inferNode(n, inputs);
    const outputs = n.outputs.map((o, k) => {
      if (sameType(o.type, types[k]!)) return o;
      const v: Value = { ...o, type: types[k]! }; // same id and name: the value survives with a new type
      subst.set(o, v);
      return v;
    });
    if (inputs.every((v, k) => v === n.inputs[k]) && outputs.every((v, k) => v === n.outputs[k]) && body === n.body) return n;
    changed = true;
    return body === undefined ? { ...n, inputs, outputs } : { ...n, inputs, outputs, body };
  });
  if (!changed) return g;
  return { ...g, inputs: g.inputs.map((v) => subst.get(v) ?? v), nodes, outputs: g.outputs.map((v) => subst.get(v) ?? v) };
}

function inferScanNode(n: Node, inputs: readonly Value[], body: Graph): readonly TensorType[] {
  const types = inferScan(inputs.map((v) => v.type), n.attrs, body, n.name);
  if (types.length !== n.outputs.length) throw new ShapeError(`node ${n.name} (scan): the body gives ${types.length} outputs, the node has ${n.outputs.length}`);
  return types;
}

export const inferShapesPass: GraphPass = { name: "infer-shapes", run: inferShapes };
