/**
 * Dead stores to local buffers: a store into a `local` allocation whose elements no load
 * outside such dead stores reads is removed (then the loops and branches it leaves empty).
 *
 * What this is for: a register tile computed for a partial tile. A GEMM's last column panel
 * holds fewer columns than the register block, but the block's accumulators are computed
 * unguarded (their reads stay inside the packed panel, which keeps them vectorized); after
 * loop partitioning gives that panel its own copy, only the first vectors of each row are
 * ever stored out, and the rest of the block's FMAs are dead. With 196 output columns and
 * 64-wide panels that was a quarter of the work of a ResNet layer.
 *
 * An access is an affine index `c + Σ aᵢ·vᵢ` (a ramp adds its lanes) over loop variables
 * with constant ranges; two accesses may overlap unless their integer intervals are
 * disjoint, or their residues modulo one of their coefficients are (row r of a tile is read
 * as `r·64 + [0, 4)`, written as `r·64 + 16 + [0, 16)`). Anything else — a non-affine index,
 * a variable of unknown range — may overlap everything, so is kept.
 */
import type { Expr, Var } from "../../te/expr.ts";
import { visitExpr } from "../../te/expr.ts";
import { Analyzer } from "../../arith/analyzer.ts";
import { canon } from "../../arith/canonical.ts";
import type { Buffer } from "../../te/buffer.ts";
import type { Pass } from "../pass.ts";
import type { PrimFunc, Stmt } from "../stmt.ts";
import { mapStmt, seq, visitStmt } from "../stmt.ts";

/** `c + Σ coef·v` with each v in [lo, hi]; null ranges: unknown. */
interface Affine {
  readonly c: number;
  readonly terms: readonly { readonly coef: number; readonly lo: number | null; readonly hi: number | null }[];
}

type Ranges = ReadonlyMap<Var, { lo: number; hi: number } | null>;

/** The access's index set, or null when it is not affine in known variables. */
function affineOf(index: Expr, ranges: Ranges): Affine | null {
  let base = index, lanes = 1, stride = 0;
  if (index.kind === "ramp") {
    if (index.stride.kind !== "const") return null;
    base = index.base;
    lanes = index.lanes;
    stride = index.stride.value;
  }
  const sum = canon(new Analyzer(), base);
  const terms: { coef: number; lo: number | null; hi: number | null }[] = [];
  for (const t of sum.terms) {
    const v = t.atoms[0]!;
    if (t.atoms.length !== 1 || v.kind !== "var") return null;
    const r = ranges.get(v);
    terms.push({ coef: t.coef, lo: r?.lo ?? null, hi: r?.hi ?? null });
  }
  if (lanes > 1 && stride !== 0) terms.push({ coef: stride, lo: 0, hi: lanes - 1 });
  return { c: sum.constant, terms };
}

/** [min, max] of the set, or null when some variable is unbounded. */
function extent(a: Affine, skip: (coef: number) => boolean = () => false): { min: number; max: number } | null {
  let min = a.c, max = a.c;
  for (const t of a.terms) {
    if (skip(t.coef)) continue;
    if (t.lo === null || t.hi === null) return null;
    const x = t.coef * t.lo, y = t.coef * t.hi;
    min += Math.min(x, y);
    max += Math.max(x, y);
  }
  return { min, max };
}

const mod = (x: number, g: number): number => ((x % g) + g) % g;

/** Whether two index sets may share an element (see the file comment). */
export function mayOverlap(a: Affine | null, b: Affine | null): boolean {
  if (a === null || b === null) return true;
  const ea = extent(a), eb = extent(b);
  if (ea && eb && (ea.max < eb.min || eb.max < ea.min)) return false;
  const moduli = new Set([...a.terms, ...b.terms].map((t) => Math.abs(t.coef)).filter((g) => g >= 2));
  for (const g of moduli) {
    // Terms whose coefficient g divides vanish modulo g; the rest span a residue interval.
    const ra = extent(a, (c) => c % g === 0), rb = extent(b, (c) => c % g === 0);
    if (!ra || !rb || ra.max - ra.min + 1 + rb.max - rb.min + 1 > g) continue;
    const da = mod(rb.min - ra.min, g); // b's start, relative to a's start on the circle of size g
    if (da > ra.max - ra.min && da + (rb.max - rb.min) < g) return false;
  }
  return true;
}

interface Access { readonly at: Affine | null }
interface StoreInfo extends Access { readonly stmt: Stmt; readonly loads: Access[] }

/** The stores to `buf` in `body`, each with the loads of `buf` in its value, and the other loads of `buf`; null: leave this buffer alone. */
function collect(body: Stmt, buf: Buffer): { stores: StoreInfo[]; rootLoads: Access[] } | null {
  const stores: StoreInfo[] = [], rootLoads: Access[] = [];
  let opaque = false;
  const loadsIn = (e: Expr, ranges: Ranges, into: Access[]) => visitExpr(e, (x) => {
    if (x.kind === "load" && x.buffer.id === buf.id) into.push({ at: x.indices.length === 1 ? affineOf(x.indices[0]!, ranges) : null });
  });
  const walk = (s: Stmt, ranges: Ranges): void => {
    switch (s.kind) {
      case "for": {
        loadsIn(s.min, ranges, rootLoads);
        loadsIn(s.extent, ranges, rootLoads);
        const known = s.min.kind === "const" && s.extent.kind === "const";
        const inner = new Map(ranges).set(s.loopVar, known ? { lo: s.min.value, hi: s.min.value + s.extent.value - 1 } : null);
        walk(s.body, inner);
        break;
      }
      case "store": {
        s.indices.forEach((i) => loadsIn(i, ranges, rootLoads));
        if (s.buffer.id === buf.id) {
          const loads: Access[] = [];
          loadsIn(s.value, ranges, loads);
          stores.push({ stmt: s, at: s.indices.length === 1 ? affineOf(s.indices[0]!, ranges) : null, loads });
        } else loadsIn(s.value, ranges, rootLoads);
        break;
      }
      case "let": loadsIn(s.value, ranges, rootLoads); walk(s.body, new Map(ranges).set(s.v, null)); break;
      case "if": loadsIn(s.cond, ranges, rootLoads); walk(s.then, ranges); if (s.else) walk(s.else, ranges); break;
      case "seq": s.body.forEach((b) => walk(b, ranges)); break;
      case "allocate": walk(s.body, ranges); break;
      // A tensorized intrinsic or an opaque call may read the buffer through a pointer.
      case "attr": if (s.key === "tensorize") opaque = true; walk(s.body, ranges); break;
      case "evaluate": opaque = true; break;
      case "barrier": case "nop": break;
    }
  };
  walk(body, new Map());
  return opaque ? null : { stores, rootLoads };
}

/** The stores of `buf` that some live load may read (loads outside stores to buf are live; so are those inside live stores). */
function liveStores(stores: readonly StoreInfo[], rootLoads: readonly Access[]): Set<Stmt> {
  const live = new Set<Stmt>();
  const work: StoreInfo[] = [];
  const reach = (l: Access) => {
    for (const s of stores) if (!live.has(s.stmt) && mayOverlap(s.at, l.at)) { live.add(s.stmt); work.push(s); }
  };
  rootLoads.forEach(reach);
  while (work.length > 0) work.pop()!.loads.forEach(reach);
  return live;
}

/** Drops `dead` stores and the loops, branches and blocks they leave empty. */
function prune(s: Stmt, dead: ReadonlySet<Stmt>): Stmt {
  if (dead.has(s)) return { kind: "nop" };
  const t = mapStmt(s, (c) => prune(c, dead), (e) => e);
  switch (t.kind) {
    case "for": case "let": case "attr": return t.body.kind === "nop" ? t.body : t;
    case "if": return t.then.kind === "nop" && (t.else === null || t.else.kind === "nop") ? { kind: "nop" } : t;
    case "seq": return seq(...t.body);
    default: return t;
  }
}

function eliminate(s: Stmt): Stmt {
  const t = mapStmt(s, eliminate, (e) => e);
  if (t.kind !== "allocate" || t.buffer.scope !== "local") return t;
  const found = collect(t.body, t.buffer);
  if (!found) return t;
  const live = liveStores(found.stores, found.rootLoads);
  const dead = new Set(found.stores.filter((x) => !live.has(x.stmt)).map((x) => x.stmt));
  if (dead.size === 0) return t;
  const body = prune(t.body, dead);
  return body.kind === "nop" ? body : { ...t, body };
}

export const deadLocalStores: Pass = {
  name: "dead-local-stores",
  run: (f: PrimFunc): PrimFunc => {
    const body = eliminate(f.body);
    return body === f.body ? f : { ...f, body };
  },
};

/** The number of stores into local buffers (for tests and dumps). */
export function localStoreCount(s: Stmt): number {
  let n = 0;
  visitStmt(s, (x) => { if (x.kind === "store" && x.buffer.scope === "local") n++; });
  return n;
}
