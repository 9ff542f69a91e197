/** The op registry: every op by name. Families live in ops/basic and ops/nn. */
import { LatheError } from "../../core/errors.ts";
import type { Attrs, AttrValue } from "../graph/graph.ts";
import type { OpDef } from "./op.ts";
import { basicOps } from "./basic/index.ts";
import { nnOps } from "./nn/index.ts";
import { quantOps } from "./quant/index.ts";

/**
 * Every op by name. Names come from user files (.lg text, ONNX-built graphs), so the table
 * has no prototype: `ops["constructor"]` is undefined, not Object.
 */
export const ops: Readonly<Record<string, OpDef>> = Object.assign(Object.create(null) as Record<string, OpDef>, basicOps, nnOps, quantOps);

export function getOp(name: string, node?: string): OpDef {
  const op = Object.hasOwn(ops, name) ? ops[name] : undefined;
  if (!op) throw new LatheError(`${node ? `node ${node}: ` : ""}unknown op "${name}"`);
  return op;
}

const kindOk = (kind: string, v: AttrValue): boolean => {
  switch (kind) {
    case "int": return typeof v === "number" && Number.isInteger(v);
    case "float": return typeof v === "number";
    case "bool": return typeof v === "boolean";
    case "string": return typeof v === "string";
    case "ints": return Array.isArray(v) && v.every((x) => typeof x === "number" && Number.isInteger(x));
    case "floats": return Array.isArray(v) && v.every((x) => typeof x === "number");
    case "strings": return Array.isArray(v) && v.every((x) => typeof x === "string");
    default: return false;
  }
};

/** Attributes with defaults filled in; unknown, missing or ill-typed ones name the node. */
export function normalizeAttrs(op: OpDef, given: Attrs, node: string): Attrs {
  const out: Record<string, AttrValue> = {};
  for (const k of Object.keys(given)) {
    if (!Object.hasOwn(op.attrs, k)) throw new LatheError(`node ${node} (${op.name}): unknown attribute "${k}"`);
  }
  for (const [k, spec] of Object.entries(op.attrs)) {
    const v = (Object.hasOwn(given, k) ? given[k] : undefined) ?? spec.default;
    if (v === undefined) throw new LatheError(`node ${node} (${op.name}): missing attribute "${k}"`);
    if (!kindOk(spec.kind, v)) throw new LatheError(`node ${node} (${op.name}): attribute "${k}" must be ${spec.kind}, got ${JSON.stringify(v)}`);
    out[k] = v;
  }
  return out;
}
