/**
 * A fused group as tensor expressions: its nodes' compute rules chained over placeholders
 * of its inputs. Every target lowers a group from these (then schedules it its own way).
 */
import type { Tensor as TeTensor } from "../te/tensor.ts";
import { compute } from "../te/tensor.ts";
import { LatheError } from "../../core/errors.ts";
import { getOp } from "../ops/registry.ts";
import type { PrimFunc } from "../tir/stmt.ts";
import type { Value } from "../graph/graph.ts";
import type { FusionGroup } from "../graph/passes/fuse.ts";
import type { SizeVars } from "../graph/te-bridge.ts";
import { placeholderOf } from "../graph/te-bridge.ts";
import { SCAN } from "../graph/scan.ts";

export interface LoweredGroup {
  readonly func: PrimFunc;
  /** Kernel arguments in call order: the group's inputs, then its outputs. */
  readonly args: readonly Value[];
  /** Whether a tuned config scheduled it (absent or false: the default schedule). */
  readonly tuned?: boolean;
}

export interface GroupTensors {
  /** Placeholders of the group's inputs, in order. */
  readonly inputs: readonly TeTensor[];
  /** The computes the kernel writes, in the group's output order. */
  readonly outputs: readonly TeTensor[];
  /** The anchor's first output, or null for a group without an anchor. */
  readonly anchor: TeTensor | null;
}

/** The group's tensor expressions: its nodes' compute rules chained over placeholders of its inputs. */
export function groupTensors(group: FusionGroup, sizes: SizeVars): GroupTensors {
  const scan = group.nodes.find((n) => n.op === SCAN);
  if (scan) {
    throw new LatheError(`node ${scan.name} (scan) is a loop over a body graph, not a kernel: its target must run the loop itself (the cpu target does; see exec-plan.ts)`);
  }
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
  return { inputs, outputs, anchor: group.anchor ? te.get(group.anchor.outputs[0]!)! : null };
}
