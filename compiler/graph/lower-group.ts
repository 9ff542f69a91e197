/**
 * One fused group → one loop-IR kernel: its ops' compute rules chained, then its schedule —
 * the tuned one when a tuning log has a config for the group's task, else the default.
 */
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
import { groupTemplate, type TunedConfigs } from "../autotune/templates.ts";
import { groupTaskKey } from "../autotune/task.ts";

export type { TunedConfigs };

/** Anchors scheduled with register tiling (the op registry's schedule hint for them). */
export const GEMM_OPS: ReadonlySet<string> = new Set(["matmul", "batch_matmul"]);

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

/**
 * Lowers a group. With `tuned` (task key → config, from a tuning log), a group whose task
 * has a config that its template accepts gets the tuned schedule; every other group (no
 * record, a symbolic shape, a config from a different space) gets the default schedule.
 */
export function lowerGroup(group: FusionGroup, name: string, sizes: SizeVars, vectorBytes: number, tuned?: TunedConfigs): LoweredGroup {
  const { inputs, outputs, anchor } = groupTensors(group, sizes);
  const s = createSchedule(outputs);
  let applied = false;
  const template = groupTemplate(s, outputs, anchor, group.anchor?.op ?? null, vectorBytes);
  const logged = tuned && tuned.size > 0 ? tuned.get(groupTaskKey(group, "cpu")) : undefined;
  const config = logged !== undefined ? template?.space.complete(logged) : undefined;
  if (template && config && template.space.contains(config)) {
    template.apply(s, config);
    applied = true;
  } else if (template?.defaultConfig) {
    // A template's default config is the group's default schedule (the gemm one reproduces
    // defaultSchedule's; the blocked convolution's register tile is about 4/3 the speed of
    // the generic reduction schedule's on ResNet-18's 3×3 layers).
    template.apply(s, template.defaultConfig);
  } else {
    defaultSchedule(s, outputs, vectorBytes, anchor && GEMM_OPS.has(group.anchor!.op) ? anchor : null);
  }
  // Inputs read only for their shape (ones_like's input) stay arguments: their shapes may
  // be what binds a symbolic size.
  const func = lower(s, [...inputs, ...outputs], { name });
  return { func, args: [...group.inputs, ...group.outputs], tuned: applied };
}
