/**
 * simplify: algebraic identities that are exact in floating point, as a rule table.
 * Constants are recognized by value (a constant whose elements are all 1, or a ones_like
 * node). Every rule's result must keep the node's exact type (rewrite.ts checks), so
 * `mul(x, ones[4, 3])` with x: [3] stays: it broadcasts. Not here, on purpose:
 * exp(log(x)) → x (wrong for x ≤ 0) and log(exp(x)) → x (exp overflows).
 * Nodes left unused are dropped by dce.
 */
import type { Node } from "../graph.ts";
import type { GraphPass } from "./pass.ts";
import type { Rule } from "./rewrite.ts";
import { p, rewrite, rule } from "./rewrite.ts";

/** A transpose's permutation with the empty default (reverse) and negative axes resolved. */
const permOf = (t: Node, rank: number): number[] => {
  const perm = t.attrs["perm"] as readonly number[];
  return perm.length === 0 ? Array.from({ length: rank }, (_, i) => rank - 1 - i) : perm.map((a) => (a < 0 ? a + rank : a));
};
const isIdentity = (perm: readonly number[]): boolean => perm.every((a, i) => a === i);
/** Whether a permutation swaps the last two axes and keeps the rest. */
const swapsLastTwo = (perm: readonly number[]): boolean =>
  perm.length >= 2 && perm.every((a, i) => (i < perm.length - 2 ? a === i : a === (i === perm.length - 1 ? perm.length - 2 : perm.length - 1)));

/**
 * matmul(transpose(x), y) → matmul(x, y, transA flipped) when the transpose swaps the last two
 * axes, and likewise for the second operand: the product reads x in place (exact: the same
 * products summed in the same order).
 */
const matmulTransposeRules = (op: "matmul" | "batch_matmul"): Rule[] => (["A", "B"] as const).map((side) => {
  const t = p.transpose(p.x).as("t");
  const pattern = (side === "A" ? p.op(op, t, p.y) : p.op(op, p.y, t)).as("m");
  return rule(`${op}-transpose-${side}`, pattern, ({ x, y }, { t: tn, m }) => {
    if (!swapsLastTwo(permOf(tn!, x!.type.shape.length))) return null;
    const flag = `trans${side}`;
    return { op, inputs: side === "A" ? [x!, y!] : [y!, x!], attrs: { ...m!.attrs, [flag]: m!.attrs[flag] !== true } };
  });
});

export const simplifyRules: readonly Rule[] = [
  rule("mul-one", p.mul(p.x, p.const(1)), ({ x }) => x!), // commutative: 1*x too
  rule("add-zero", p.add(p.x, p.const(0)), ({ x }) => x!),
  rule("sub-zero", p.sub(p.x, p.const(0)), ({ x }) => x!),
  rule("div-one", p.div(p.x, p.const(1)), ({ x }) => x!),
  rule("neg-neg", p.neg(p.neg(p.x)), ({ x }) => x!),
  rule("cast-same", p.cast(p.x).as("c"), ({ x }, { c }) => (c!.attrs["dtype"] === x!.type.dtype ? x! : null)),
  // Reshape only reinterprets row-major data: the same shape is the identity, and a chain
  // is one reshape to the last shape (the type check rejects a shape whose 0s meant the middle one's dims).
  rule("reshape-same", p.reshape(p.x), ({ x }) => x!),
  rule("reshape-reshape", p.reshape(p.reshape(p.x)).as("r"), ({ x }, { r }) => ({ op: "reshape", inputs: [x!], attrs: r!.attrs })),
  rule("expand-same", p.expand(p.x), ({ x }) => x!),
  // transpose(transpose(x, p1), p2) reads x's axis p1[p2[i]] at output axis i.
  rule("transpose-transpose", p.transpose(p.transpose(p.x).as("t1")).as("t2"), ({ x }, { t1, t2 }) => {
    const rank = x!.type.shape.length;
    const p1 = permOf(t1!, rank), p2 = permOf(t2!, rank);
    const perm = p2.map((a) => p1[a]!);
    return isIdentity(perm) ? x! : { op: "transpose", inputs: [x!], attrs: { ...t2!.attrs, perm } };
  }),
  rule("transpose-identity", p.transpose(p.x).as("t"), ({ x }, { t }) => (isIdentity(permOf(t!, x!.type.shape.length)) ? x! : null)),
  ...matmulTransposeRules("matmul"),
  ...matmulTransposeRules("batch_matmul"),
];

export const simplify: GraphPass = { name: "simplify", run: (g) => rewrite(g, simplifyRules) };
