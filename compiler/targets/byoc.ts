/**
 * Whole-graph compilation's side of target plugins: find the op chains a target takes
 * over (its BYOC patterns), cut them out of the fusion groups, and lower groups with the
 * target's own schedule hook and passes.
 *
 * A matched chain becomes a group of its own whose code the pattern emits; what is left
 * of a fusion group it came from is split where the chain sat (the nodes before it and
 * the nodes after it become separate groups), and all groups are put back in an order
 * where each one's inputs are computed before it.
 */
import { BuildError, LatheError } from "../../core/errors.ts";
import type { Graph, Node, Value } from "../graph/graph.ts";
import type { FusionGroup } from "../graph/passes/fuse.ts";
import { groupTensors, type LoweredGroup } from "../lower/group.ts";
import type { SizeVars } from "../graph/te-bridge.ts";
import { getOp } from "../ops/registry.ts";
import { createSchedule } from "../schedule/schedule.ts";
import { lowerSchedule } from "../tir/lower.ts";
import { runPasses } from "../tir/pass.ts";
import { groupTaskKey } from "../autotune/task.ts";
import type { TunedConfigs } from "./cpu/schedules/templates.ts";
import type { ExternalPattern, PatternMatch, TargetPlugin } from "./plugin.ts";

export interface ExternalMatch {
  readonly pattern: ExternalPattern;
  readonly match: PatternMatch;
}

export interface Partition {
  /** Groups in execution order. */
  readonly groups: readonly FusionGroup[];
  /** The groups a pattern took over. */
  readonly external: ReadonlyMap<FusionGroup, ExternalMatch>;
}

/** Every non-overlapping match of `patterns` in `g`, earlier nodes and earlier patterns first. */
export function matchPatterns(g: Graph, patterns: readonly ExternalPattern[]): ExternalMatch[] {
  const consumers = new Map<Value, Node[]>();
  for (const n of g.nodes) for (const v of n.inputs) { const cs = consumers.get(v) ?? []; if (!cs.includes(n)) cs.push(n); consumers.set(v, cs); }
  const graphOutputs = new Set(g.outputs);
  const claimed = new Set<Node>();
  const found: ExternalMatch[] = [];
  const chainFrom = (start: Node, ops: readonly string[]): Node[] | null => {
    const chain = [start];
    for (let k = 1; k < ops.length; k++) {
      const cur = chain[k - 1]!;
      if (cur.outputs.length !== 1 || graphOutputs.has(cur.outputs[0]!)) return null;
      const cs = consumers.get(cur.outputs[0]!) ?? [];
      if (cs.length !== 1 || cs[0]!.op !== ops[k] || claimed.has(cs[0]!)) return null;
      chain.push(cs[0]!);
    }
    return chain.at(-1)!.outputs.length === 1 ? chain : null;
  };
  for (const n of g.nodes) {
    if (claimed.has(n)) continue;
    for (const pattern of patterns) {
      if (pattern.ops[0] !== n.op) continue;
      const nodes = chainFrom(n, pattern.ops);
      if (!nodes) continue;
      const inside = new Set(nodes.flatMap((x) => x.outputs));
      const inputs: Value[] = [];
      for (const x of nodes) for (const v of x.inputs) if (!inside.has(v) && !inputs.includes(v)) inputs.push(v);
      const match: PatternMatch = { nodes, inputs, output: nodes.at(-1)!.outputs[0]! };
      if (pattern.accepts && !pattern.accepts(match)) continue;
      for (const x of nodes) claimed.add(x);
      found.push({ pattern, match });
      break;
    }
  }
  return found;
}

/** A group of `nodes` (topological order) with its inputs and outputs as fuse.ts defines them. */
function groupOf(g: Graph, nodes: readonly Node[], anchor: Node | null): FusionGroup {
  const members = new Set(nodes);
  const inside = new Set(nodes.flatMap((m) => m.outputs));
  const inputs: Value[] = [];
  for (const m of nodes) for (const v of m.inputs) if (!inside.has(v) && !inputs.includes(v)) inputs.push(v);
  const graphOutputs = new Set(g.outputs);
  const usedOutside = (v: Value) => graphOutputs.has(v) || g.nodes.some((x) => !members.has(x) && x.inputs.includes(v));
  return { nodes, anchor, inputs, outputs: nodes.flatMap((m) => m.outputs).filter(usedOutside) };
}

/** Cuts the target's pattern matches out of `groups`; unchanged groups when nothing matches. */
export function partitionExternal(g: Graph, groups: readonly FusionGroup[], patterns: readonly ExternalPattern[]): Partition {
  const matches = matchPatterns(g, patterns);
  if (matches.length === 0) return { groups, external: new Map() };
  const matchOf = new Map<Node, ExternalMatch>();
  for (const m of matches) for (const n of m.match.nodes) matchOf.set(n, m);
  const external = new Map<FusionGroup, ExternalMatch>();
  const pieces: FusionGroup[] = [];
  for (const grp of groups) {
    if (!grp.nodes.some((n) => matchOf.has(n))) { pieces.push(grp); continue; }
    let segment: Node[] = [];
    const flush = () => {
      if (segment.length) pieces.push(groupOf(g, segment, grp.anchor && segment.includes(grp.anchor) ? grp.anchor : null));
      segment = [];
    };
    for (const n of grp.nodes) {
      const m = matchOf.get(n);
      if (!m) { segment.push(n); continue; }
      if (n !== m.match.nodes.at(-1)) continue; // the chain is placed where it ends
      flush();
      const piece = groupOf(g, m.match.nodes, m.match.nodes.find((x) => isAnchor(x)) ?? null);
      external.set(piece, m);
      pieces.push(piece);
    }
    flush();
  }
  return { groups: topoOrder(g, pieces), external };
}

const isAnchor = (n: Node): boolean => { const k = getOp(n.op, n.name).fusion; return k === "reduce" || k === "outEWiseFusable"; };

/** Groups in an order where producers come first (ties: earlier last node first). */
function topoOrder(g: Graph, pieces: readonly FusionGroup[]): FusionGroup[] {
  const index = new Map(g.nodes.map((n, i) => [n, i]));
  const producer = new Map<Value, FusionGroup>();
  for (const p of pieces) for (const n of p.nodes) for (const o of n.outputs) producer.set(o, p);
  const deps = new Map(pieces.map((p) => [p, new Set(p.inputs.map((v) => producer.get(v)).filter((q): q is FusionGroup => q !== undefined && q !== p))]));
  const last = (p: FusionGroup) => index.get(p.nodes.at(-1)!)!;
  const done = new Set<FusionGroup>();
  const out: FusionGroup[] = [];
  while (out.length < pieces.length) {
    const ready = pieces.filter((p) => !done.has(p) && [...deps.get(p)!].every((q) => done.has(q)));
    if (ready.length === 0) {
      const stuck = pieces.filter((p) => !done.has(p)).map((p) => p.nodes.map((n) => n.name).join("+"));
      throw new BuildError(`external patterns split the fused groups into kernels that depend on each other in a cycle: ${stuck.join(", ")}`);
    }
    const next = ready.reduce((a, b) => (last(b) < last(a) ? b : a));
    done.add(next);
    out.push(next);
  }
  return out;
}

/** A kernel of a compiled graph: lowered loop IR, or code a pattern emitted in its place. */
export type GraphKernel = LoweredGroup & {
  /** The kernel's C++ from a BYOC pattern; `func` then only gives its name and meaning (never printed). */
  readonly external?: string;
};

/**
 * Lowers a group with the plugin's hooks and loop-IR passes: its tuning template with the
 * config `tuned` holds for the group's task on this target (as lowerGroup does for cpu),
 * else its default schedule.
 */
export function lowerGroupFor(target: TargetPlugin, group: FusionGroup, name: string, sizes: SizeVars, tuned?: TunedConfigs): LoweredGroup {
  if (!target.schedule) throw new LatheError(`target ${target.name} has no schedule hook`);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new LatheError(`kernel name "${name}" is not a C identifier`);
  const { inputs, outputs, anchor } = groupTensors(group, sizes);
  const s = createSchedule(outputs);
  const ctx = { group, outputs, anchor, anchorOp: group.anchor?.op ?? null };
  let applied = false;
  const config = tuned && tuned.size > 0 && target.tuning ? tuned.get(groupTaskKey(group, target.name)) : undefined;
  if (config !== undefined) {
    const template = target.tuning!(s, ctx);
    if (template && template.space.contains(config)) {
      template.apply(s, config);
      applied = true;
    }
  }
  if (!applied) target.schedule(s, ctx);
  const func = runPasses(lowerSchedule(s, [...inputs, ...outputs], name), target.passes);
  return { func, args: [...group.inputs, ...group.outputs], tuned: applied };
}

/** The kernel for a matched chain: its emitted code, and its loop IR (lowered by `lowerMeaning`) for its name and meaning. */
export function externalKernel(m: ExternalMatch, group: FusionGroup, symbol: string, lowerMeaning: (name: string) => LoweredGroup): GraphKernel {
  const lowered = lowerMeaning(symbol);
  const args = [...m.match.inputs, m.match.output];
  if (args.length !== lowered.args.length || args.some((v, i) => v !== lowered.args[i]) || group.outputs.length !== 1) {
    throw new BuildError(`pattern ${m.pattern.name}: matched chain ${m.match.nodes.map((n) => n.name).join(" → ")} does not have one output`);
  }
  const source = m.pattern.emit({ ...m.match, symbol });
  if (typeof source !== "string" || !source.includes(symbol)) {
    throw new BuildError(`pattern ${m.pattern.name}: emit() must return C++ source defining ${symbol}`);
  }
  return { ...lowered, external: source };
}
