/**
 * Per-query state shared by the simplifier, the bound analyses and the prover: the
 * variable ranges and memo tables. One Analyzer lives for one public call
 * (`simplify`, `canProve`, `intervalOf`, …); results depend on the ranges, so memos
 * are never shared between calls with different ranges.
 */
import type { Expr, Var } from "../../te/expr.ts";
import { freeVars } from "../../te/expr.ts";
import type { Bound } from "./const-bound.ts";
import type { Sum } from "./linear.ts";
import type { VarRanges } from "./interval.ts";

export class Analyzer {
  readonly simpMemo = new Map<Expr, Expr>();
  readonly canonMemo = new Map<Expr, Sum>();
  readonly boundMemo = new Map<string, Bound>();
  readonly tightMemo = new Map<string, Bound>();
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
  readonly stages: readonly (readonly Var[])[];

  constructor(readonly ranges: VarRanges = new Map()) {
    const sym = new Set<Var>();
    const mentions = new Map<Var, Set<Var>>();
    for (const [v, r] of ranges) {
      if (r.min.kind !== "const" || r.extent.kind !== "const") sym.add(v);
      const used = new Set([...freeVars(r.min), ...freeVars(r.extent)].filter((w) => w !== v && ranges.has(w)));
      mentions.set(v, used);
    }
    this.symbolicVars = sym;
    const stages: Var[][] = [];
    let remaining = new Set(ranges.keys());
    while (remaining.size > 0) {
      const mentioned = new Set<Var>();
      for (const v of remaining) for (const w of mentions.get(v)!) if (remaining.has(w)) mentioned.add(w);
      let stage = [...remaining].filter((v) => !mentioned.has(v));
      if (stage.length === 0) stage = [...remaining]; // a cycle: relax the rest together
      stages.push(stage);
      remaining = new Set([...remaining].filter((v) => !stage.includes(v)));
    }
    this.stages = stages;
  }

  /** The ranged variables an atom mentions, memoised by the atom's key. */
  atomVars(atom: Expr, key: string): ReadonlySet<Var> {
    let s = this.atomVarsMemo.get(key);
    if (s === undefined) {
      s = new Set([...freeVars(atom)].filter((v) => this.ranges.has(v)));
      this.atomVarsMemo.set(key, s);
    }
    return s;
  }
}
