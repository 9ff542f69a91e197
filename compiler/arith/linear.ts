/**
 * The canonical form of integer index expressions: a sum of terms
 * `coef × (atom₁ × atom₂ × …)` plus a constant, as TVM's SumExpr. Atoms are every
 * non-linear node (vars, loads, floordiv/floormod, min/max, select, casts, …), each with
 * canonical children. Terms are kept sorted by their monomial key, so two equal sums
 * convert back to structurally equal expressions.
 *
 * Coefficients and the constant wrap to the dtype: wrapping is a ring homomorphism, so
 * add/sub/mul keep C's (wrapping) value exactly.
 */
import type { DType } from "../../core/dtype.ts";
import type { Expr, BinOp } from "../te/expr.ts";
import { compareKeys, exprKey } from "./key.ts";

export interface Term {
  /** The monomial's atoms, sorted by key; repeated for powers. Never empty. */
  readonly atoms: readonly Expr[];
  readonly coef: number;
  readonly key: string;
}
export interface Sum {
  readonly dtype: DType;
  /** Sorted by key, no zero coefficients, no duplicate keys. */
  readonly terms: readonly Term[];
  readonly constant: number;
}

/** Index types get the canonical treatment; narrower ints only constant folding. */
export const isIndexType = (t: DType): boolean => t === "i32" || t === "i64";

// ---- wrapping integer arithmetic ----

export function iadd(t: DType, a: number, b: number): number {
  if (t === "i32") return (a + b) | 0;
  const r = a + b;
  return Number.isSafeInteger(r) ? r : Number(BigInt.asIntN(64, BigInt(a) + BigInt(b)));
}
export function imul(t: DType, a: number, b: number): number {
  if (t === "i32") return Math.imul(a, b);
  const r = a * b;
  return Number.isSafeInteger(r) ? r : Number(BigInt.asIntN(64, BigInt(a) * BigInt(b)));
}
export const ineg = (t: DType, a: number): number => imul(t, a, -1);

export function gcd(a: number, b: number): number {
  a = Math.abs(a); b = Math.abs(b);
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

// ---- construction ----

export const constSum = (dtype: DType, c: number): Sum => ({ dtype, terms: [], constant: c });

export function monomialKey(atoms: readonly Expr[]): string {
  return atoms.map(exprKey).join("*");
}
function sortAtoms(atoms: Expr[]): Expr[] {
  return atoms.sort((x, y) => compareKeys(exprKey(x), exprKey(y)));
}
export function makeTerm(atoms: readonly Expr[], coef: number): Term {
  const sorted = sortAtoms([...atoms]);
  return { atoms: sorted, coef, key: monomialKey(sorted) };
}
export const atomSum = (atom: Expr): Sum => ({ dtype: atom.dtype, terms: [makeTerm([atom], 1)], constant: 0 });

/** Accumulates scaled terms; `build` drops zeros and sorts. */
export class SumBuilder {
  private readonly map = new Map<string, Term>();
  constant = 0;
  constructor(readonly dtype: DType) {}
  addTerm(t: Term, scale = 1): this {
    const c = imul(this.dtype, t.coef, scale);
    const old = this.map.get(t.key);
    this.map.set(t.key, old ? { ...old, coef: iadd(this.dtype, old.coef, c) } : { ...t, coef: c });
    return this;
  }
  addSum(s: Sum, scale = 1): this {
    for (const t of s.terms) this.addTerm(t, scale);
    return this.addConst(imul(this.dtype, s.constant, scale));
  }
  addConst(c: number): this {
    this.constant = iadd(this.dtype, this.constant, c);
    return this;
  }
  build(): Sum {
    const terms = [...this.map.values()].filter((t) => t.coef !== 0);
    terms.sort((x, y) => compareKeys(x.key, y.key));
    return { dtype: this.dtype, terms, constant: this.constant };
  }
}

export const addSums = (a: Sum, b: Sum): Sum => new SumBuilder(a.dtype).addSum(a).addSum(b).build();
export const subSums = (a: Sum, b: Sum): Sum => new SumBuilder(a.dtype).addSum(a).addSum(b, -1).build();
export function scaleSum(a: Sum, k: number): Sum {
  if (k === 1) return a;
  return new SumBuilder(a.dtype).addSum(a, k).build();
}
export const addConst = (a: Sum, c: number): Sum =>
  c === 0 ? a : { ...a, constant: iadd(a.dtype, a.constant, c) };
export const negSum = (a: Sum): Sum => scaleSum(a, -1);
/** The sum without its constant. */
export const dropConst = (a: Sum): Sum => (a.constant === 0 ? a : { ...a, constant: 0 });
export const termSum = (dtype: DType, t: Term): Sum => ({ dtype, terms: [t], constant: 0 });

/** Products of sums with more terms than this stay unexpanded (an opaque product atom). */
const EXPAND_LIMIT = 64;

/** Expands a × b, or returns null when the expansion would be too large. */
export function mulSums(a: Sum, b: Sum): Sum | null {
  if (isConstSum(a)) return scaleSum(b, a.constant);
  if (isConstSum(b)) return scaleSum(a, b.constant);
  if ((a.terms.length + 1) * (b.terms.length + 1) > EXPAND_LIMIT) return null;
  const out = new SumBuilder(a.dtype);
  const withConst = (s: Sum): { atoms: readonly Expr[]; coef: number }[] =>
    [...s.terms, ...(s.constant !== 0 ? [{ atoms: [] as Expr[], coef: s.constant }] : [])];
  for (const x of withConst(a)) {
    for (const y of withConst(b)) {
      const coef = imul(a.dtype, x.coef, y.coef);
      const atoms = [...x.atoms, ...y.atoms];
      if (atoms.length === 0) out.addConst(coef);
      else out.addTerm(makeTerm(atoms, coef));
    }
  }
  return out.build();
}

// ---- queries ----

export const isConstSum = (s: Sum): boolean => s.terms.length === 0;
export const isZeroSum = (s: Sum): boolean => s.terms.length === 0 && s.constant === 0;

/** The atom if `s` is exactly one atom with coefficient 1 and no constant. */
export function asAtom(s: Sum): Expr | null {
  return s.terms.length === 1 && s.constant === 0 && s.terms[0]!.coef === 1 && s.terms[0]!.atoms.length === 1
    ? s.terms[0]!.atoms[0]!
    : null;
}

const sumKeys = new WeakMap<Sum, string>();
export function sumKey(s: Sum): string {
  let k = sumKeys.get(s);
  if (k === undefined) {
    k = `${s.dtype}:${s.terms.map((t) => `${t.coef}*${t.key}`).join("+")}+${s.constant}`;
    sumKeys.set(s, k);
  }
  return k;
}
export const sumEqual = (a: Sum, b: Sum): boolean => a === b || sumKey(a) === sumKey(b);

/** GCD of the non-constant coefficients (0 for a constant sum). */
export const coefGcd = (s: Sum): number => s.terms.reduce((g, t) => gcd(g, t.coef), 0);

// ---- back to expressions ----

const cnst = (dtype: DType, v: number): Expr => ({ kind: "const", value: v, dtype });
export const mkBin = (op: BinOp, a: Expr, b: Expr, dtype: DType = a.dtype): Expr => ({ kind: "bin", op, a, b, dtype });

function monomialExpr(atoms: readonly Expr[], coef: number, dtype: DType): Expr {
  let e = atoms[0]!;
  for (let i = 1; i < atoms.length; i++) e = mkBin("mul", e, atoms[i]!, dtype);
  return coef === 1 ? e : mkBin("mul", e, cnst(dtype, coef), dtype);
}

/**
 * Positive terms first (in key order), then negative ones as subtractions, then the constant.
 * The output parses back (through the canonicaliser) to exactly the same sum.
 */
export function sumToExpr(s: Sum): Expr {
  const t = s.dtype;
  let acc: Expr | null = null;
  let constDone = s.constant === 0;
  for (const term of s.terms) {
    if (term.coef > 0) {
      const e = monomialExpr(term.atoms, term.coef, t);
      acc = acc ? mkBin("add", acc, e, t) : e;
    }
  }
  for (const term of s.terms) {
    if (term.coef < 0) {
      if (acc === null && !constDone) { acc = cnst(t, s.constant); constDone = true; }
      const negated = ineg(t, term.coef);
      acc = acc === null || negated < 0 // negated < 0 only for the most negative integer
        ? (acc ? mkBin("add", acc, monomialExpr(term.atoms, term.coef, t), t) : monomialExpr(term.atoms, term.coef, t))
        : mkBin("sub", acc, monomialExpr(term.atoms, negated, t), t);
    }
  }
  if (!constDone) {
    const negated = ineg(t, s.constant);
    if (acc === null) acc = cnst(t, s.constant);
    else if (s.constant > 0 || negated < 0) acc = mkBin("add", acc, cnst(t, s.constant), t);
    else acc = mkBin("sub", acc, cnst(t, negated), t);
  }
  return acc ?? cnst(t, 0);
}
