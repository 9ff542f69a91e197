/**
 * Operator fusion by TVM's rules, over a post-dominator tree: a node joins the group of
 * its immediate post-dominator when every node on every path between them allows it —
 * injective chains fuse; a reduction absorbs injective producers; an out-elementwise-
 * fusable op (conv2d, matmul) or a reduction absorbs elementwise/broadcast consumers;
 * opaque ops never fuse. A group holds at most one anchor (reduction or
 * out-elementwise-fusable op). Each group becomes one kernel. A scan node is opaque: it
 * forms a group of its own, and its body is fused separately when it is lowered.
 */
import type { Graph, Node, Value } from "../graph.ts";
import type { FusionKind } from "../../ops/op.ts";
import { getOp } from "../../ops/registry.ts";
import { isScan } from "../scan.ts";

export interface FusionGroup {
  /** Nodes in topological order. */
  readonly nodes: readonly Node[];
  /** The reduction or out-elementwise-fusable node the group is built around, if any. */
  readonly anchor: Node | null;
  /** Values read from outside the group, in first-use order. */
  readonly inputs: readonly Value[];
  /** Values the group produces that are used outside it or are graph outputs. */
  readonly outputs: readonly Value[];
}

const RANK: Record<FusionKind, number> = { elemwise: 0, broadcast: 1, injective: 2, reduce: 3, outEWiseFusable: 4, opaque: 5 };
const isAnchor = (k: FusionKind) => k === "reduce" || k === "outEWiseFusable";
/** A node's pattern kind; a scan is opaque. */
const fusionKind = (n: Node): FusionKind => (isScan(n) ? "opaque" : getOp(n.op, n.name).fusion);
/** Groups larger than this are not grown (TVM uses a similar cap) to bound kernel size. */
const MAX_GROUP = 64;

export function fusionGroups(g: Graph): FusionGroup[] {
  const nodes = g.nodes;
  const index = new Map(nodes.map((n, i) => [n, i]));
  const producer = new Map<Value, Node>();
  for (const n of nodes) for (const o of n.outputs) producer.set(o, n);
  const consumers = new Map<Node, Node[]>(nodes.map((n) => [n, []]));
  for (const n of nodes) {
    for (const v of n.inputs) {
      const p = producer.get(v);
      if (p && !consumers.get(p)!.includes(n)) consumers.get(p)!.push(n);
    }
  }
  const kind = fusionKind;
  const outputsGraph = new Set(g.outputs);
  const feedsSink = (n: Node) => n.outputs.some((o) => outputsGraph.has(o));

  // Immediate post-dominators, processing consumers first; null stands for the graph's exit.
  const ipdom = new Map<Node, Node | null>();
  const depth = new Map<Node | null, number>([[null, 0]]);
  const lca = (a: Node | null, b: Node | null): Node | null => {
    while (a !== b) {
      if ((depth.get(a) ?? 0) >= (depth.get(b) ?? 0)) a = a === null ? null : ipdom.get(a)!;
      else b = b === null ? null : ipdom.get(b)!;
      if (a === null || b === null) return null;
    }
    return a;
  };
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    const cs = consumers.get(n)!;
    let d: Node | null = cs.length === 0 || feedsSink(n) ? null : cs[0]!;
    for (const c of cs.slice(1)) d = lca(d, c);
    ipdom.set(n, d);
    depth.set(n, (depth.get(d) ?? 0) + 1);
  }

  // Union-find over nodes, tracking each group's anchor and size.
  const parent = new Map<Node, Node>(nodes.map((n) => [n, n]));
  const find = (n: Node): Node => { let r = n; while (parent.get(r) !== r) r = parent.get(r)!; parent.set(n, r); return r; };
  const anchor = new Map<Node, Node | null>(nodes.map((n) => [n, isAnchor(kind(n)) ? n : null]));
  const size = new Map<Node, number>(nodes.map((n) => [n, 1]));

  /** Nodes strictly between n and its post-dominator p on some path. */
  const between = (n: Node, p: Node): Node[] => {
    const seen = new Set<Node>();
    const stack = [...consumers.get(n)!];
    while (stack.length) {
      const x = stack.pop()!;
      if (x === p || seen.has(x)) continue;
      seen.add(x);
      stack.push(...consumers.get(x)!);
    }
    return [...seen];
  };

  for (const n of nodes) {
    const kn = kind(n);
    const p = ipdom.get(n) ?? null;
    if (kn === "opaque" || p === null || kind(p) === "opaque") continue;
    const mid = between(n, p);
    const path = [...mid, p];
    const maxRank = (xs: Node[]) => Math.max(...xs.map((x) => RANK[kind(x)]));
    let ok: boolean;
    if (kn === "outEWiseFusable" || kn === "reduce") ok = maxRank(path) <= RANK.broadcast;
    else ok = maxRank(path) <= RANK.injective || (kind(p) === "reduce" && (mid.length === 0 || maxRank(mid) <= RANK.injective));
    if (!ok) continue;
    const roots = [...new Set([n, ...path].map(find))];
    const anchors = [...new Set(roots.map((r) => anchor.get(r)).filter((a): a is Node => a !== null && a !== undefined))];
    const total = roots.reduce((s, r) => s + size.get(r)!, 0);
    if (anchors.length > 1 || total > MAX_GROUP) continue;
    const root = roots[0]!;
    for (const r of roots.slice(1)) parent.set(r, root);
    anchor.set(root, anchors[0] ?? null);
    size.set(root, total);
  }

  const byRoot = new Map<Node, Node[]>();
  for (const n of nodes) {
    const r = find(n);
    if (!byRoot.has(r)) byRoot.set(r, []);
    byRoot.get(r)!.push(n);
  }
  // Groups in the order of their last node, so each group's inputs are computed before it.
  const groups = [...byRoot.entries()].sort((a, b) => index.get(a[1].at(-1)!)! - index.get(b[1].at(-1)!)!);
  return groups.map(([root, members]) => {
    const inside = new Set(members.flatMap((m) => m.outputs));
    const inputs: Value[] = [];
    for (const m of members) for (const v of m.inputs) if (!inside.has(v) && !inputs.includes(v)) inputs.push(v);
    const usedOutside = (v: Value) => outputsGraph.has(v) || nodes.some((x) => !members.includes(x) && x.inputs.includes(v));
    const outputs = members.flatMap((m) => m.outputs).filter(usedOutside);
    return { nodes: members, anchor: anchor.get(root) ?? null, inputs, outputs };
  });
}

/** No fusion: one group per node (the baseline fusion is measured against). */
export function singletonGroups(g: Graph): FusionGroup[] {
  const outs = new Set(g.outputs);
  return g.nodes.map((n) => ({
    nodes: [n],
    anchor: isAnchor(fusionKind(n)) ? n : null,
    inputs: [...new Set(n.inputs)],
    outputs: n.outputs.filter((o) => outs.has(o) || g.nodes.some((m) => m !== n && m.inputs.includes(o))),
  }));
}
