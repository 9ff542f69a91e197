/** infer-shapes: re-infers every node's output types through the op registry, in order, so a change to an input's type reaches every value. */
import { LatheError, ShapeError } from "../../../core/errors.ts";
import { getOp, normalizeAttrs } from "../../ops/registry.ts";
import type { Graph, Node, Value } from "../graph.ts";
import type { TensorType } from "../types.ts";
import { sameType, showType } from "../types.ts";
import type { GraphPass } from "./pass.ts";

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

export function inferShapes(g: Graph): Graph {
  const subst = new Map<Value, Value>();
  let changed = false;
  const nodes = g.nodes.map((n) => {
    const inputs = n.inputs.map((v) => subst.get(v) ?? v);
    const types = inferNode(n, inputs);
    const outputs = n.outputs.map((o, k) => {
      if (sameType(o.type, types[k]!)) return o;
      const v: Value = { ...o, type: types[k]! }; // same id and name: the value survives with a new type
      subst.set(o, v);
      return v;
    });
    if (inputs.every((v, k) => v === n.inputs[k]) && outputs.every((v, k) => v === n.outputs[k])) return n;
    changed = true;
    return { ...n, inputs, outputs };
  });
  if (!changed) return g;
  return { ...g, nodes, outputs: g.outputs.map((v) => subst.get(v) ?? v) };
}

export const inferShapesPass: GraphPass = { name: "infer-shapes", run: inferShapes };
