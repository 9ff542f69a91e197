/**
 * alter-layout: convolutions in the blocked NCHW[x]c layout (TVM's AlterOpLayout).
 *
 * Every conv2d with groups = 1 whose input and output channels divide by the block
 * becomes conv2d_nchwc on layout_transform(x, NCHW → NCHW{b}c) with its weight in
 * OIHW{b}i{b}o; a depthwise one (groups = channels, multiplier 1) becomes
 * depthwise_conv2d_nchwc with its weight in OIHW1i{b}o. The blocked layout then flows on
 * through the ops that do not care how a tensor is laid out — elementwise unary ops,
 * broadcasting binary ops and `where` (their other operands are brought to the blocked
 * form: a layout_transform for one with the channel axis, a trailing unit axis for one
 * without it) and inference batch_norm (as x·k + shift with k = scale·rsqrt(var + ε),
 * shift = bias − mean·k, reshaped [C] → [C/b, 1, 1, b]). A value is transformed back to NCHW only where something else reads it,
 * and the graph outputs are, so the graph's inputs and outputs keep NCHW: transforms sit
 * at the boundaries of blocked regions, never between two blocked ops. Nodes the pass adds
 * whose inputs are all constants (weight transforms, batch-norm factors) are folded, and
 * adjacent transforms compose or cancel (`layout_transform(layout_transform(x, A→B), B→A)`
 * → x), also where the input graph already had them.
 */
import { LatheError } from "../../../core/errors.ts";
import { depthwiseWeightLayout } from "../../ops/nn/depthwise-nchwc.ts";
import { blockedDataLayout, blockedWeightLayout } from "../../ops/nn/layout.ts";
import type { Graph, Node, Value } from "../graph.ts";
import { staticSize } from "../types.ts";
import { Emitter } from "./emitter.ts";
import { foldConstants } from "./fold-constants.ts";
import type { GraphPass } from "./pass.ts";
import type { Pattern, Rule } from "./rewrite.ts";
import { p, rewrite, rule } from "./rewrite.ts";

/** Ops that compute each element from the same element of their one input. */
const UNARY: ReadonlySet<string> = new Set([
  "neg", "exp", "log", "sqrt", "rsqrt", "tanh", "sigmoid", "relu", "leaky_relu", "erf", "gelu", "softplus", "abs", "sign", "cast",
]);
/** Elementwise ops with NumPy broadcasting over all their inputs. */
const BROADCASTING: ReadonlySet<string> = new Set([
  "add", "sub", "mul", "div", "pow", "maximum", "minimum",
  "equal", "not_equal", "less", "less_equal", "greater", "greater_equal", "where",
]);

// ---- cancelling transforms ----

const lt = (x: Pattern) => p.op("layout_transform", x);

/** Two transforms in a row are one from the first's source to the second's target; none when those are the same. */
export const layoutRules: readonly Rule[] = [
  rule("layout-transform-compose", lt(lt(p.x).as("t1")).as("t2"), ({ x }, { t1, t2 }) => {
    const src = t1!.attrs["src"]!, dst = t2!.attrs["dst"]!;
    return src === dst ? x! : { op: "layout_transform", inputs: [x!], attrs: { src, dst } };
  }),
  rule("layout-transform-identity", lt(p.x).as("t"), ({ x }, { t }) => (t!.attrs["src"] === t!.attrs["dst"] ? x! : null)),
];

/** Values some node or the graph output reads. */
function readValues(g: Graph): Set<Value> {
  const read = new Set<Value>(g.outputs);
  for (const n of g.nodes) n.inputs.forEach((v) => read.add(v));
  return read;
}

/** Composes and cancels adjacent layout transforms; transforms left unread by that go too. */
export function cancelLayoutTransforms(g: Graph): Graph {
  const out = rewrite(g, layoutRules);
  if (out === g) return g;
  const before = readValues(g);
  // Drop the inner transforms the rewrite bypassed (read before, read by nothing now), last first so chains go.
  const nodes = [...out.nodes];
  for (let changed = true; changed;) {
    changed = false;
    const read = readValues({ ...out, nodes });
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (n.op === "layout_transform" && !read.has(n.outputs[0]!) && before.has(n.outputs[0]!)) { nodes.splice(i, 1); changed = true; }
    }
  }
  return { ...out, nodes };
}


// ---- the rewrite ----

/** A value's name for naming its forms: builder outputs "conv1.out" give "conv1". */
const baseName = (v: Value): string => (v.name.endsWith(".out") && v.name.length > 4 ? v.name.slice(0, -4) : v.name);

/** The NCHW axes a rank-r operand covers when broadcast against NCHW (right-aligned). */
const alignedLayout = (rank: number): string => "NCHW".slice(4 - rank);

/**
 * A depthwise conv2d with channel multiplier 1 (groups = input channels = output channels)
 * whose channels divide by the block: depthwise_conv2d_nchwc computes it. Other multipliers
 * and other grouped convolutions stay NCHW.
 */
function isBlockableDepthwise(n: Node, channels: (v: Value) => number | null): boolean {
  if (n.op !== "conv2d" || n.outputs.length !== 1 || n.inputs[1]!.type.shape.length !== 4) return false;
  const c = channels(n.inputs[0]!), groups = n.attrs["groups"];
  return c !== null && groups === c && channels(n.outputs[0]!) === c && n.inputs[1]!.type.shape[1] === 1;
}

function rewriteLayouts(g: Graph, block: number): Graph {
  const b = block;
  const data = blockedDataLayout(b);
  const suffix = `_${data.toLowerCase()}`;
  const e = new Emitter(g);
  const producer = new Map<Value, Node>();
  g.nodes.forEach((n) => n.outputs.forEach((o) => producer.set(o, n)));

  /** Original values whose producer now computes them blocked: their blocked form. */
  const home = new Map<Value, Value>();
  /** Blocked forms made by transforming a value in (memoized per value and layout). */
  const transformedIn = new Map<string, Value>();
  const recomputed = new Set<Value>();
  let rewrote = false;

  /** The value in its original layout (a transform back for a value computed blocked). */
  const nchwOf = (v: Value): Value => {
    const blocked = home.get(v);
    if (!blocked || recomputed.has(v)) return v;
    recomputed.add(v);
    // The original value itself, recomputed under its old producer's name.
    return e.op("layout_transform", [blocked], { src: data, dst: "NCHW" }, v.name, { value: v, node: producer.get(v)!.name });
  };
  const transformIn = (v: Value, src: string, dst: string, name: string): Value => {
    const key = `${v.id}:${dst}`;
    let t = transformedIn.get(key);
    if (!t) { t = e.op("layout_transform", [nchwOf(v)], { src, dst }, name); transformedIn.set(key, t); }
    return t;
  };
  const blockedOf = (v: Value): Value => home.get(v) ?? transformIn(v, "NCHW", data, baseName(v) + suffix);

  const channels = (v: Value): number | null => {
    const c = v.type.shape[1];
    return v.type.shape.length === 4 && typeof c === "number" && c % b === 0 ? c : null;
  };

  /**
   * An operand of a broadcasting op whose output is blocked, in a form that broadcasts the
   * same way against [N, C/b, H, W, b]: blocked itself when it has the channel axis, else
   * with a unit axis appended for the block (its axes then still line up with N, H, W).
   */
  const blockedOperand = (u: Value, c: number): Value => {
    if (home.has(u)) return home.get(u)!;
    const r = u.type.shape.length;
    if (staticSize(u.type) === 1) return u; // a scalar broadcasts against any layout
    if (r >= 3 && u.type.shape[r - 3] === c) {
      const src = alignedLayout(r);
      return r === 4 ? blockedOf(u) : transformIn(u, src, `${src}${b}c`, baseName(u) + suffix);
    }
    const key = `${u.id}:unit`;
    let t = transformedIn.get(key);
    if (!t) { t = e.op("reshape", [nchwOf(u)], { shape: [...u.type.shape.map(() => 0), 1] }, `${baseName(u)}_unit`); transformedIn.set(key, t); }
    return t;
  };

  for (const n of g.nodes) {
    const single = n.outputs.length === 1 ? n.outputs[0]! : null;
    const name = single ? baseName(single) + suffix : "";
    let blocked: Value | null = null;

    if (single && n.op === "conv2d" && n.attrs["groups"] === 1 && n.inputs[1]!.type.shape.length === 4 && channels(n.inputs[0]!) !== null && channels(single) !== null) {
      const [x, w] = n.inputs as [Value, Value];
      const wl = blockedWeightLayout(b, b);
      const wb = transformIn(w, "OIHW", wl, `${baseName(w)}_${wl.toLowerCase()}`);
      const { strides, pads, dilations, groups } = n.attrs;
      blocked = e.op("conv2d_nchwc", [blockedOf(x), wb], { strides: strides!, pads: pads!, dilations: dilations!, groups: groups!, block_in: b, block_out: b }, name);
      rewrote = true;
    } else if (single && isBlockableDepthwise(n, channels)) {
      const [x, w] = n.inputs as [Value, Value];
      const wl = depthwiseWeightLayout(b);
      const wb = transformIn(w, "OIHW", wl, `${baseName(w)}_${wl.toLowerCase()}`);
      const { strides, pads, dilations } = n.attrs;
      blocked = e.op("depthwise_conv2d_nchwc", [blockedOf(x), wb], { strides: strides!, pads: pads!, dilations: dilations!, block: b }, name);
      rewrote = true;
    } else if (single && UNARY.has(n.op) && home.has(n.inputs[0]!)) {
      blocked = e.op(n.op, [home.get(n.inputs[0]!)!], n.attrs, name);
    } else if (single && BROADCASTING.has(n.op) && n.inputs.some((v) => home.has(v)) && channels(single) !== null) {
      const c = channels(single)!;
      blocked = e.op(n.op, n.inputs.map((u) => blockedOperand(u, c)), n.attrs, name);
    } else if (single && n.op === "batch_norm" && home.has(n.inputs[0]!)) {
      blocked = batchNormBlocked(n, single, home.get(n.inputs[0]!)!);
    }

    if (blocked) home.set(single!, blocked);
    else {
      const inputs = n.inputs.map(nchwOf);
      e.keep(inputs.every((v, k) => v === n.inputs[k]) ? n : { ...n, inputs });
    }
  }

  /** y = x·k + shift with k = scale·rsqrt(var + ε), shift = bias − mean·k, as [C/b, 1, 1, b] factors. */
  function batchNormBlocked(n: Node, y: Value, xb: Value): Value {
    const [scale, bias, mean, variance] = n.inputs.slice(1).map(nchwOf) as [Value, Value, Value, Value];
    const c = y.type.shape[1] as number;
    const dtype = y.type.dtype;
    const eps = e.scalar(`${n.name}.epsilon`, n.attrs["epsilon"] as number, dtype);
    const rstd = e.op("rsqrt", [e.op("add", [variance, eps], {}, `${n.name}.var_eps`)], {}, `${n.name}.rstd`);
    const k = e.op("mul", [scale, rstd], {}, `${n.name}.k`);
    const shift = e.op("sub", [bias, e.op("mul", [mean, k], {}, `${n.name}.mean_k`)], {}, `${n.name}.shift`);
    // [C] in row-major order is [C/b, b]: a reshape lays the factors out blocked.
    const shape = [c / b, 1, 1, b];
    const kb = e.op("reshape", [k], { shape }, k.name + suffix);
    const sb = e.op("reshape", [shift], { shape }, shift.name + suffix);
    return e.op("add", [e.op("mul", [xb, kb], {}, `${baseName(y)}_scaled${suffix}`), sb], {}, baseName(y) + suffix);
  }

  if (!rewrote) return g;
  const outputs = g.outputs.map(nchwOf);

  // Fold what the pass added on constants alone (weight transforms, batch-norm factors):
  // each is a permutation or a per-channel vector, no bigger than its inputs.
  const added = e.nodes.filter((n) => e.created.has(n));
  const folded = foldConstants({ inputs: [], constants: e.constants, nodes: added, outputs: [] }, { maxElements: Infinity });
  const stillAdded = new Set(folded.nodes);
  const nodes = e.nodes.filter((n) => !e.created.has(n) || stillAdded.has(n));
  // Constants the rewrite stopped reading (OIHW weights, batch-norm parameters, ε) go.
  const readBefore = readValues(g);
  const readNow = readValues({ ...g, nodes, outputs });
  const original = new Set(g.constants);
  const constants = folded.constants.filter((k) => readNow.has(k.value) || (original.has(k) && !readBefore.has(k.value)));
  return { inputs: g.inputs, constants, nodes, outputs };
}

/**
 * Whether the blocked layout pays (compileGraph's layout "auto"), given `g` and `blocked`,
 * alter-layout's result for it: no grouped convolution is left in NCHW (depthwise ones with
 * channel multiplier 1 are blocked; other grouped ones, or depthwise ones whose channels do
 * not divide by the block, are not), none has a gradient in the graph, and the blocked graph
 * transforms few values at run time — at most two, or one per four blocked convolutions. Ops
 * the pass does not block (grouped convolutions, gradients, concatenations, pooling) read
 * NCHW, so each region between them pays a transform out and back in: MobileNet-v2 batch 1
 * with its depthwise layers left in NCHW measured 10.8 ms NCHW against 12.3 ms blocked,
 * where ResNet-18 (two transforms, nineteen blocked convolutions) gained, 29.1 → 26.2 ms.
 * With them blocked MobileNet-v2 has two transforms and gains too (50.0 → 44.4 ms, 1 thread,
 * on a loaded 2-core AVX2 host).
 */
export function blockedLayoutPays(g: Graph, blocked: Graph): boolean {
  const groupedLeft = blocked.nodes.some((n) => n.op === "conv2d" && n.attrs["groups"] !== 1);
  if (groupedLeft || g.nodes.some((n) => CONV_GRADIENTS.has(n.op))) return false;
  const blockedConvs = blocked.nodes.filter((n) => BLOCKED_CONVS.has(n.op)).length;
  const constants = new Set(blocked.constants.map((c) => c.value));
  const transforms = blocked.nodes.filter((n) => n.op === "layout_transform" && !constants.has(n.inputs[0]!)).length;
  return blockedConvs > 0 && transforms <= Math.max(2, blockedConvs / 4);
}

/** The convolutions alter-layout writes. */
const BLOCKED_CONVS: ReadonlySet<string> = new Set(["conv2d_nchwc", "depthwise_conv2d_nchwc"]);

/** Ops of a convolution's backward pass (training graphs), which read NCHW activations. */
const CONV_GRADIENTS: ReadonlySet<string> = new Set(["conv_transpose2d", "conv2d_grad_weight"]);

/** Converts convolutions and what follows them to NCHW{block}c; see the file comment. */
export function alterLayout(block = 8): GraphPass {
  if (!Number.isInteger(block) || block < 2) throw new LatheError(`alter-layout: the channel block must be an integer ≥ 2, got ${block}`);
  return {
    name: "alter-layout",
    run: (g) => cancelLayoutTransforms(rewriteLayouts(g, block)),
  };
}
