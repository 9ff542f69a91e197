/**
 * Per-query state shared by the simplifier, the bound analyses and the prover: the
 * variable ranges and memo tables. One Analyzer lives for one public call
 * (`simplify`, `canProve`, `intervalOf`, …); results depend on the ranges, so memos
 * are never shared between calls with different ranges.
 */
import type { Expr, Var } from "../te/expr.ts";
import { freeVars } from "../te/expr.ts";
import type { Bound } from "./const-bound.ts";
import type { Sum } from "./linear.ts";
import type { SymInterval, VarRanges } from "./interval.ts";
import { varsOf } from "./key.ts";

/**
 * Memo tables for results computed at full strength (depth 0) and for the weaker ones
 * computed inside symbolic-interval work (depth > 0). Both are sound; a depth-0 result is
 * used everywhere, a weaker one only at depth > 0, so results never depend on the order in
 * which things were first asked.
 */
export class TieredMemo<K, V> {
  private readonly strong = new Map<K, V>();
  private readonly weak = new Map<K, V>();
  get(an: Analyzer, k: K): V | undefined {
    return this.strong.get(k) ?? (an.depth > 0 ? this.weak.get(k) : undefined);
  }
  set(an: Analyzer, k: K, v: V): void {
    (an.depth === 0 ? this.strong : this.weak).set(k, v);
  }
}

export class Analyzer {
  readonly simpMemo = new TieredMemo<Expr, Expr>();
  readonly canonMemo = new TieredMemo<Expr, Sum>();
  readonly boundMemo = new Map<string, Bound>();
  readonly tightMemo = new TieredMemo<string, Bound>();
  readonly varBounds = new Map<Var, Bound>();
  readonly visitingVars = new Set<Var>();
  private readonly atomVarsMemo = new Map<string, ReadonlySet<Var>>();
  /**
   * >0 while computing symbolic intervals: nested proofs then use numeric bounds only,
   * which keeps the analysis from recursing without end.
   */
  depth = 0;
  /** Ranged vars whose range is not constant: only these make symbolic reasoning worthwhile. */
  readonly symbolicVars: ReadonlySet<Var>;
  /**
   * The order in which to relax ranged vars into their bounds: a var before every var its
   * range mentions (relax `j ∈ [0, m)` while `m` is still symbolic, then relax `m`).
   */
  readonly stages: readonly ReadonlySet<Var>[];
  /** Symbolic intervals of atoms, per relaxed set of vars (one of `stages`). */
  readonly intervalMemo = new Map<ReadonlySet<Var>, Map<string, SymInterval>>();

  constructor(readonly ranges: VarRanges = new Map()) {
    const sym = new Set<Var>();
    const mentions = new Map<Var, Set<Var>>();
    for (const [v, r] of ranges) {
      if (r.min.kind !== "const" || r.extent.kind !== "const") sym.add(v);
      const used = new Set([...freeVars(r.min), ...freeVars(r.extent)].filter((w) => w !== v && ranges.has(w)));
      mentions.set(v, used);
    }
    this.symbolicVars = sym;
    const stages: Set<Var>[] = [];
    let remaining = new Set(ranges.keys());
    while (remaining.size > 0) {
      const mentioned = new Set<Var>();
      for (const v of remaining) for (const w of mentions.get(v)!) if (remaining.has(w)) mentioned.add(w);
      let stage = [...remaining].filter((v) => !mentioned.has(v));
      if (stage.length === 0) stage = [...remaining]; // a cycle: relax the rest together
      stages.push(new Set(stage));
      remaining = new Set([...remaining].filter((v) => !stage.includes(v)));
    }
    this.stages = stages;
  }

  /** The ranged variables an atom mentions, memoised by the atom's key. */
  atomVars(atom: Expr, key: string): ReadonlySet<Var> {
    let s = this.atomVarsMemo.get(key);
    if (s === undefined) {
      s = new Set([...varsOf(atom)].filter((v) => this.ranges.has(v)));
      this.atomVarsMemo.set(key, s);
    }
    return s;
  }
}
