/** One fused group → one loop-IR kernel: its ops' compute rules chained, then the default schedule. */
import type { Tensor as TeTensor } from "../te/tensor.ts";
import { compute } from "../te/tensor.ts";
import { LatheError } from "../errors.ts";
import { getOp } from "../ops/registry.ts";
import { createSchedule } from "../schedule/schedule.ts";
import { lower } from "../build.ts";
import type { PrimFunc } from "../tir/stmt.ts";
import type { Value } from "./graph.ts";
import type { FusionGroup } from "./passes/fuse.ts";
import { defaultSchedule } from "./default-schedule.ts";
import type { SizeVars } from "./te-bridge.ts";
import { placeholderOf } from "./te-bridge.ts";

/** Anchors scheduled with register tiling (the op registry's schedule hint for them). */
const GEMM_OPS = new Set(["matmul", "batch_matmul"]);

export interface LoweredGroup {
  readonly func: PrimFunc;
  /** Kernel arguments in call order: the group's inputs, then its outputs. */
  readonly args: readonly Value[];
}

export function lowerGroup(group: FusionGroup, name: string, sizes: SizeVars, vectorBytes: number): LoweredGroup {
  const te = new Map<Value, TeTensor>();
  const inputs = group.inputs.map((v) => { const t = placeholderOf(v, sizes); te.set(v, t); return t; });
  for (const n of group.nodes) {
    const outs = getOp(n.op, n.name).compute(n.inputs.map((v) => te.get(v)!), n.attrs, { name: n.name, outputs: n.outputs.map((o) => o.type), sizes: sizes.map });
    if (outs.length !== n.outputs.length) throw new LatheError(`node ${n.name} (${n.op}): compute rule gave ${outs.length} outputs, expected ${n.outputs.length}`);
    n.outputs.forEach((o, k) => te.set(o, outs[k]!));
  }
  // An output that is an input unchanged (an identity-like op) still needs its own buffer.
  const outputs = group.outputs.map((v) => {
    const t = te.get(v)!;
    return t.op.kind === "placeholder" || group.outputs.some((w) => w !== v && te.get(w) === t)
      ? compute(t.shape, (...ix) => t.at(...ix), `${v.name}.copy`)
      : t;
  });
  const s = createSchedule(outputs);
  const gemm = group.anchor && GEMM_OPS.has(group.anchor.op) ? te.get(group.anchor.outputs[0]!)! : null;
  defaultSchedule(s, outputs, vectorBytes, gemm);
  // Inputs read only for their shape (ones_like's input) stay arguments: their shapes may
  // be what binds a symbolic size.
  const func = lower(s, [...inputs, ...outputs], { name });
  return { func, args: [...group.inputs, ...group.outputs] };
}
