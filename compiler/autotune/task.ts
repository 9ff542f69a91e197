/**
 * Tuning tasks: one per distinct fused group (its ops, attrs and tensor types) and
 * target. Groups with the same structure are one task, tuned once; `weight` counts how
 * many kernel launches of one run of the graph share it (a kernel in a scan body runs once
 * per step), so the tuner can spend time where it pays.
 */
import { createHash } from "node:crypto";
import type { AttrValue, Graph, Node, Value } from "../graph/graph.ts";
import { fusionGroups, type FusionGroup } from "../graph/passes/fuse.ts";
import { isScan, scanAttrs, scanLength } from "../graph/scan.ts";
import type { TensorType } from "../graph/types.ts";

/** A node of a task, with values numbered: group inputs first (0..k-1), then node outputs in order. */
export interface TaskNode {
  readonly op: string;
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly inputs: readonly number[];
  readonly outputs: readonly number[];
}

export interface Task {
  readonly target: string;
  readonly inputs: readonly TensorType[];
  readonly nodes: readonly TaskNode[];
  /** Value numbers the group exposes, in the group's output order. */
  readonly outputs: readonly number[];
  /** Types of every numbered value (inputs, then node outputs). */
  readonly types: readonly TensorType[];
  /** Index into nodes of the group's anchor (reduction or conv/matmul), or null. */
  readonly anchor: number | null;
  /**
   * How many times one run of the graph launches this task's kernels: one per fused group,
   * times the trip count of every scan the group is inside (a symbolic trip count counts as 1).
   */
  readonly weight: number;
  /** Those groups, in graph order. */
  readonly groups: readonly FusionGroup[];
  readonly key: string;
}

type TaskBody = Omit<Task, "weight" | "groups" | "key">;

/** What a measurement needs of a task: plain data (JSON), so it crosses to the measuring child. */
export type TaskSpec = TaskBody & { readonly key: string };

/** A task's plain-data part (drops the graph's groups). */
export function taskSpec(t: Task | TaskSpec): TaskSpec {
  return { target: t.target, inputs: t.inputs, nodes: t.nodes, outputs: t.outputs, types: t.types, anchor: t.anchor, key: t.key };
}

/** Renames a group's values to numbers so that names and ids do not enter its key. */
function taskBody(group: FusionGroup, target: string): TaskBody {
  const num = new Map<Value, number>();
  const types: TensorType[] = [];
  const number = (v: Value) => {
    num.set(v, types.length);
    types.push({ shape: [...v.type.shape], dtype: v.type.dtype });
  };
  group.inputs.forEach(number);
  const nodes = group.nodes.map((n) => {
    const inputs = n.inputs.map((v) => num.get(v)!);
    n.outputs.forEach(number);
    return { op: n.op, attrs: sortedAttrs(n.attrs), inputs, outputs: n.outputs.map((v) => num.get(v)!) };
  });
  const anchor = group.anchor ? group.nodes.indexOf(group.anchor) : null;
  return { target, inputs: types.slice(0, group.inputs.length), nodes, outputs: group.outputs.map((v) => num.get(v)!), types, anchor };
}

function sortedAttrs(attrs: Readonly<Record<string, AttrValue>>): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const k of Object.keys(attrs).sort()) {
    const v = attrs[k]!;
    out[k] = Array.isArray(v) ? [...(v as readonly (number | string)[])] as AttrValue : v;
  }
  return out;
}

/** Canonical JSON: every object here has sorted keys (sortedAttrs) or a fixed field order. */
function canonical(t: TaskBody): string {
  return JSON.stringify({
    target: t.target,
    types: t.types.map((x) => [x.dtype, x.shape]),
    inputs: t.inputs.length,
    nodes: t.nodes.map((n) => [n.op, n.attrs, n.inputs, n.outputs]),
    outputs: t.outputs,
    anchor: t.anchor,
  });
}

/** A stable key: the ops (for people reading logs) and a hash of the canonical task. */
export function taskKey(task: TaskBody): string {
  const hash = createHash("sha256").update(canonical(task)).digest("hex").slice(0, 16);
  const ops = task.nodes.map((n) => n.op).join("+");
  return `${task.target}/${ops.length > 60 ? ops.slice(0, 60) + "…" : ops}/${hash}`;
}

/**
 * The graph's tuning tasks, one per distinct fused group, in order of first appearance. A
 * scan is a group of its own with no kernel; its body's groups are the kernels compiled for
 * it (once, whatever the trip count), so they are the tasks, found where the scan is, each
 * launch weighted by the trip count. Pass
 * the graph as the target prepares it, bodies included (cpu: `cpuGraphLowering`), so the
 * keys are the ones compilation looks up.
 */
export function extractTasks(g: Graph, target = "cpu"): Task[] {
  const byKey = new Map<string, { body: TaskBody; groups: FusionGroup[]; weight: number }>();
  const visit = (level: Graph, launches: number): void => {
    for (const group of fusionGroups(level)) {
      const scan = group.nodes.find(isScan);
      if (scan) {
        const trips = scanLength(scan.inputs.map((v) => v.type), scanAttrs(scan.attrs, scan.name), scan.name);
        visit(scan.body, launches * (typeof trips === "number" ? trips : 1));
        continue;
      }
      const body = taskBody(group, target);
      const key = taskKey(body);
      const cur = byKey.get(key);
      if (cur) { cur.groups.push(group); cur.weight += launches; } else byKey.set(key, { body, groups: [group], weight: launches });
    }
  };
  visit(g, 1);
  return [...byKey].map(([key, { body, groups, weight }]) => ({ ...body, weight, groups, key }));
}

/** The task key of one fused group (what compilation looks up in a tuning log). */
export function groupTaskKey(group: FusionGroup, target: string): string {
  return taskKey(taskBody(group, target));
}

/**
 * A fused group rebuilt from a task: values named v0, v1, … and nodes n0, n1, …, with the
 * task's ops, attributes and types. Its groupTaskKey is the task's key.
 */
export function taskGroup(t: TaskSpec): FusionGroup {
  const values: Value[] = t.types.map((type, i) => ({ id: i, name: `v${i}`, type: { shape: [...type.shape], dtype: type.dtype } }));
  const nodes: Node[] = t.nodes.map((n, k) => ({
    id: values.length + k, name: `n${k}`, op: n.op, attrs: n.attrs,
    inputs: n.inputs.map((i) => values[i]!), outputs: n.outputs.map((i) => values[i]!),
  }));
  return {
    nodes,
    anchor: t.anchor === null ? null : nodes[t.anchor]!,
    inputs: values.slice(0, t.inputs.length),
    outputs: t.outputs.map((i) => values[i]!),
  };
}

/** Whether every tensor of the task has a static shape (only such tasks can be measured). */
export function isStatic(t: TaskSpec): boolean {
  return t.types.every((x) => x.shape.every((d) => typeof d === "number"));
}
