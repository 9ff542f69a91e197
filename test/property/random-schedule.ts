/**
 * Random valid schedules for the schedule property test: from a seeded Rng, apply a
 * random sequence of schedule primitives to a fresh matmul or conv2d schedule. The
 * generator only proposes primitives it believes valid (the `plan*` methods); a ScheduleError
 * from one of them is recorded as a rejection and the primitive skipped. Every step is
 * logged as text, so a failing seed can be read (and replayed by hand) without rerunning.
 *
 * Validity rules the generator keeps (beyond what the primitives check themselves):
 * - tile never splits its outer axis when another stage is computed at it (the tile's
 *   reorder would then move a loop across that compute_at point, after its splits applied);
 * - every compute_at keeps each attached stage outside all of its readers: a reader is
 *   the stage it is computed at, or is computed (transitively) at that stage at the same
 *   loop or a deeper one (`attachmentsConsistent`);
 * - cache_write and rfactor change which stage reads the stage's inputs, so they are only
 *   applied to a stage that nothing is computed at and whose producers are computed at root;
 *   the same for cache_read of an intermediate (computed at root or inlined), whose
 *   producers' reader changes;
 * - vectorize only the innermost leaf (a data axis), parallel only one loop of the whole
 *   schedule (one of the two outermost leaves of a stage computed at root), unroll only
 *   small loops (so the generated code stays small).
 */
import type { Tensor } from "../../compiler/te/tensor.ts";
import { compute, placeholder, reduceAxis, sum } from "../../compiler/te/tensor.ts";
import { add, and, ge, lt, mul, select, sub } from "../../compiler/te/expr.ts";
import type { Axis } from "../../compiler/schedule/axis.ts";
import type { Schedule, Stage } from "../../compiler/schedule/schedule.ts";
import { createSchedule, readsTensor } from "../../compiler/schedule/schedule.ts";
import { cacheRead, cacheWrite, rfactor } from "../../compiler/schedule/cache.ts";
import { ScheduleError } from "../../core/errors.ts";
import type { Rng } from "../../runtime/random.ts";

// ---- the computes ----

export interface Workload {
  readonly label: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Kernel arguments: inputs, then the output. */
  readonly args: readonly Tensor[];
}

export function matmul(M: number, N: number, K: number): Workload {
  const A = placeholder([M, K], "f32", "A");
  const B = placeholder([K, N], "f32", "B");
  const k = reduceAxis(K, "k");
  const C = compute([M, N], (i, j) => sum(k, mul(A.at(i, k.var), B.at(k.var, j))), "C");
  return { label: `matmul ${M}x${N}x${K}`, inputs: [A, B], output: C, args: [A, B, C] };
}

export interface ConvShape { N: number; C: number; H: number; W: number; K: number; R: number; S: number; stride: number; pad: number }

/** conv2d NCHW / KCRS with an explicit zero-padded input stage P. */
export function conv2d(c: ConvShape): Workload {
  const OH = Math.floor((c.H + 2 * c.pad - c.R) / c.stride) + 1;
  const OW = Math.floor((c.W + 2 * c.pad - c.S) / c.stride) + 1;
  const X = placeholder([c.N, c.C, c.H, c.W], "f32", "X");
  const Wt = placeholder([c.K, c.C, c.R, c.S], "f32", "W");
  const P = compute([c.N, c.C, c.H + 2 * c.pad, c.W + 2 * c.pad], (n, ch, h, w) => {
    const inside = and(and(ge(h, c.pad), lt(h, c.H + c.pad)), and(ge(w, c.pad), lt(w, c.W + c.pad)));
    return select(inside, X.at(n, ch, sub(h, c.pad), sub(w, c.pad)), 0);
  }, "P", { axisNames: ["pn", "pc", "ph", "pw"] });
  const rc = reduceAxis(c.C, "rc"), rh = reduceAxis(c.R, "rh"), rw = reduceAxis(c.S, "rw");
  const Y = compute([c.N, c.K, OH, OW], (n, k, y, x) =>
    sum([rc, rh, rw], mul(P.at(n, rc.var, add(mul(y, c.stride), rh.var), add(mul(x, c.stride), rw.var)), Wt.at(k, rc.var, rh.var, rw.var))),
  "Y", { axisNames: ["n", "k", "y", "x"] });
  return {
    label: `conv2d ${c.N}x${c.C}x${c.H}x${c.W} k${c.K} ${c.R}x${c.S} s${c.stride} p${c.pad}`,
    inputs: [X, Wt], output: Y, args: [X, Wt, Y],
  };
}

// ---- the generator ----

/**
 * Patterns the generator avoids because of open compiler bugs (test/property/BUGS.md).
 * `fuzz-schedules.ts --no-avoid` sets every flag to false, to hunt for the bug again.
 * None is open now; BUGS.md #1 (nested non-dividing splits) was avoided this way.
 */
export const AVOID = {
  /** BUGS.md #1 (fixed): only divisors as split factors of an axis an earlier split produced. */
  nestedSplitTail: false,
};

export type Primitive =
  | "split" | "tile" | "fuse" | "reorder" | "vectorize" | "unroll" | "parallel" | "pragma"
  | "cache_write" | "cache_read" | "compute_at" | "compute_root" | "compute_inline" | "rfactor";

export const PRIMITIVES: readonly Primitive[] = [
  "split", "tile", "fuse", "reorder", "vectorize", "unroll", "parallel", "pragma",
  "cache_write", "cache_read", "compute_at", "compute_root", "compute_inline", "rfactor",
];

const WEIGHT: Record<Primitive, number> = {
  split: 3, tile: 2, fuse: 1.5, reorder: 2, vectorize: 1.5, unroll: 1.2, parallel: 1, pragma: 0.6,
  cache_write: 1.5, cache_read: 1.5, compute_at: 2.5, compute_root: 0.8, compute_inline: 1.2, rfactor: 1.5,
};

export interface RandomSchedule {
  readonly s: Schedule;
  /** Every primitive tried, in order, as text; rejected ones are marked. */
  readonly steps: readonly string[];
  readonly applied: Readonly<Record<Primitive, number>>;
  readonly rejected: readonly { readonly primitive: Primitive; readonly step: string; readonly message: string }[];
  /** A non-ScheduleError a primitive threw (a compiler bug), if any; generation stops there. */
  readonly crash: { readonly step: string; readonly error: unknown } | null;
}

/**
 * A primitive the generator decided to apply: its description and the call, which may
 * return more text for the log (choices it could only make after applying).
 */
interface Action { readonly text: string; readonly apply: () => string | void }

export function randomSchedule(rng: Rng, w: Workload, opts: { maxSteps?: number } = {}): RandomSchedule {
  return new Generator(rng, createSchedule(w.output), w).run(opts.maxSteps ?? 8);
}

class Generator {
  private readonly steps: string[] = [];
  private readonly applied = Object.fromEntries(PRIMITIVES.map((p) => [p, 0])) as Record<Primitive, number>;
  private readonly rejected: { primitive: Primitive; step: string; message: string }[] = [];
  private crash: { step: string; error: unknown } | null = null;
  private parallelUsed = false;
  /** Tensors cache_read has copied, and the copies. */
  private readonly cached = new Set<Tensor>();

  constructor(private readonly rng: Rng, private readonly s: Schedule, private readonly w: Workload) {}

  run(maxSteps: number): RandomSchedule {
    const length = this.rng.int(1, maxSteps + 1);
    for (let n = 0; n < length && this.crash === null; n++) this.step();
    return { s: this.s, steps: this.steps, applied: this.applied, rejected: this.rejected, crash: this.crash };
  }

  /** Picks a primitive by weight among those with a plan, and applies it. */
  private step(): void {
    const pool = [...PRIMITIVES];
    while (pool.length > 0) {
      const p = this.weighted(pool);
      const action = this.plan(p);
      if (!action) { pool.splice(pool.indexOf(p), 1); continue; }
      try {
        const more = action.apply();
        this.applied[p]++;
        this.steps.push(action.text + (more ?? ""));
      } catch (e) {
        if (e instanceof ScheduleError) {
          this.rejected.push({ primitive: p, step: action.text, message: e.message });
          this.steps.push(`${action.text}   -- rejected: ${e.message}`);
        } else {
          this.crash = { step: action.text, error: e };
          this.steps.push(`${action.text}   -- CRASH: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
      return;
    }
  }

  private weighted(pool: readonly Primitive[]): Primitive {
    const total = pool.reduce((a, p) => a + WEIGHT[p], 0);
    let x = this.rng.float() * total;
    for (const p of pool) { x -= WEIGHT[p]; if (x < 0) return p; }
    return pool[pool.length - 1]!;
  }

  private pick<T>(xs: readonly T[]): T { return xs[this.rng.int(0, xs.length)]!; }

  private plan(p: Primitive): Action | null {
    switch (p) {
      case "split": return this.planSplit();
      case "tile": return this.planTile();
      case "fuse": return this.planFuse();
      case "reorder": return this.planReorder();
      case "vectorize": return this.planVectorize();
      case "unroll": return this.planUnroll();
      case "parallel": return this.planParallel();
      case "pragma": return this.planPragma();
      case "cache_write": return this.planCacheWrite();
      case "cache_read": return this.planCacheRead();
      case "compute_at": return this.planComputeAt();
      case "compute_root": return this.planComputeRoot();
      case "compute_inline": return this.planComputeInline();
      case "rfactor": return this.planRfactor();
    }
  }

  // ---- schedule queries ----

  /** Stages with loops: computes that are not inlined. */
  private loopStages(): Stage[] {
    return this.s.stages.filter((st) => st.op !== null && st.attach.kind !== "inline");
  }

  /** Leaves of `st` where another stage is computed. */
  private attachAxes(st: Stage): Set<Axis> {
    const out = new Set<Axis>();
    for (const q of this.s.stages) if (q.attach.kind === "at" && q.attach.stage === st) out.add(q.attach.axis);
    return out;
  }

  private hasAttached(st: Stage): boolean { return this.attachAxes(st).size > 0; }

  /** For each stage with a candidate list, one uniformly chosen stage, then one candidate. */
  private pickFrom<T>(perStage: [Stage, T[]][]): [Stage, T] | null {
    const usable = perStage.filter(([, xs]) => xs.length > 0);
    if (usable.length === 0) return null;
    const [st, xs] = this.pick(usable);
    return [st, this.pick(xs)];
  }

  private ext(st: Stage, a: Axis): number { return st.constExtent(a) ?? 0; }

  /**
   * A split factor (or nparts) for leaf `a`: often one that does not divide its extent;
   * only divisors for an axis an earlier split produced while AVOID.nestedSplitTail holds.
   */
  private splitSize(st: Stage, a: Axis): number {
    const ext = this.ext(st, a);
    if (this.rng.float() < 0.1) return 1;
    if (AVOID.nestedSplitTail && !st.rootAxes.includes(a as never)) {
      const divisors = Array.from({ length: ext - 1 }, (_, k) => k + 2).filter((d) => ext % d === 0);
      return this.pick(divisors);
    }
    return this.rng.int(2, ext + 1);
  }

  // ---- loop structure ----

  private planSplit(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => [st, st.leaves.filter((l) => this.ext(st, l) >= 2)]));
    if (!c) return null;
    const [st, leaf] = c;
    const ext = this.ext(st, leaf);
    const n = this.splitSize(st, leaf);
    const byFactor = this.rng.float() < 0.7;
    return {
      text: `${st.name}.split(${leaf.var.name}, ${byFactor ? "factor" : "nparts"}=${n})  [extent ${ext}]`,
      apply: () => { st.split(leaf, byFactor ? { factor: n } : { nparts: n }); },
    };
  }

  private planTile(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => {
      const at = this.attachAxes(st);
      const ok = (l: Axis) => l.kind === "data" && this.ext(st, l) >= 2;
      const starts = st.leaves.flatMap((l, k) => (k + 1 < st.leaves.length && ok(l) && !at.has(l) && ok(st.leaves[k + 1]!) ? [k] : []));
      return [st, starts];
    }));
    if (!c) return null;
    const [st, k] = c;
    const x = st.leaves[k]!, y = st.leaves[k + 1]!;
    const fx = this.splitSize(st, x), fy = this.splitSize(st, y);
    return {
      text: `${st.name}.tile(${x.var.name}, ${y.var.name}, ${fx}, ${fy})  [extents ${this.ext(st, x)}, ${this.ext(st, y)}]`,
      apply: () => { st.tile(x, y, fx, fy); },
    };
  }

  private planFuse(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => [st, st.leaves.flatMap((l, k) => {
      const r = st.leaves[k + 1];
      return r && r.kind === l.kind ? [k] : [];
    })]));
    if (!c) return null;
    const [st, k] = c;
    const a = st.leaves[k]!, b = st.leaves[k + 1]!;
    return { text: `${st.name}.fuse(${a.var.name}, ${b.var.name})`, apply: () => { st.fuse(a, b); } };
  }

  /**
   * A random permutation of 2–4 leaves. Usually the leaves come from one segment between
   * compute_at points (a reorder there cannot move a loop across one); sometimes from
   * anywhere, which the schedule may reject.
   */
  private planReorder(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => {
      const at = this.attachAxes(st);
      const segments: Axis[][] = [[]];
      for (const l of st.leaves) {
        segments[segments.length - 1]!.push(l);
        if (at.has(l)) segments.push([]);
      }
      return [st, segments.filter((seg) => seg.length >= 2)];
    }));
    if (!c) return null;
    const [st, segment] = c;
    const from = this.rng.float() < 0.1 ? st.leaves : segment;
    const pool = [...from];
    const n = this.rng.int(2, Math.min(4, pool.length) + 1);
    const chosen: Axis[] = [];
    for (let k = 0; k < n; k++) chosen.push(pool.splice(this.rng.int(0, pool.length), 1)[0]!);
    // Keep the chosen leaves in loop order, then shuffle until the order changes.
    chosen.sort((a, b) => st.leaves.indexOf(a) - st.leaves.indexOf(b));
    const perm = [...chosen];
    for (let tries = 0; tries < 4 && perm.every((x, k) => x === chosen[k]); tries++) {
      for (let k = perm.length - 1; k > 0; k--) {
        const j = this.rng.int(0, k + 1);
        [perm[k], perm[j]] = [perm[j]!, perm[k]!];
      }
    }
    return { text: `${st.name}.reorder(${perm.map((a) => a.var.name).join(", ")})  [leaves ${leafList(st)}]`, apply: () => { st.reorder(...perm); } };
  }

  // ---- annotations ----

  private planVectorize(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => {
      const inner = st.leaves[st.leaves.length - 1];
      const ok = inner && inner.kind === "data" && this.ext(st, inner) >= 2 && this.ext(st, inner) <= 64
        && st.annotations.get(inner)?.forKind !== "vectorized";
      return [st, ok ? [inner] : []];
    }));
    if (!c) return null;
    const [st, leaf] = c;
    return { text: `${st.name}.vectorize(${leaf.var.name})  [extent ${this.ext(st, leaf)}]`, apply: () => { st.vectorize(leaf); } };
  }

  private planUnroll(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => {
      const unrolled = [...st.annotations.entries()].filter(([l, a]) => a.forKind === "unrolled" && st.leaves.includes(l)).length;
      return [st, unrolled >= 2 ? [] : st.leaves.filter((l) => this.ext(st, l) >= 2 && this.ext(st, l) <= 8 && !st.annotations.has(l))];
    }));
    if (!c) return null;
    const [st, leaf] = c;
    return { text: `${st.name}.unroll(${leaf.var.name})  [extent ${this.ext(st, leaf)}]`, apply: () => { st.unroll(leaf); } };
  }

  private planParallel(): Action | null {
    if (this.parallelUsed) return null;
    const c = this.pickFrom(this.loopStages().map((st) => [
      st,
      st.attach.kind === "root" ? st.leaves.slice(0, 2).filter((l) => l.kind === "data" && this.ext(st, l) >= 2 && !st.annotations.has(l)) : [],
    ]));
    if (!c) return null;
    const [st, leaf] = c;
    return {
      text: `${st.name}.parallel(${leaf.var.name})  [extent ${this.ext(st, leaf)}]`,
      apply: () => { st.parallel(leaf); this.parallelUsed = true; },
    };
  }

  private planPragma(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => [st, [...st.leaves]]));
    if (!c) return null;
    const [st, leaf] = c;
    const [key, value] = this.pick<[string, string | number]>([["auto_unroll_max_step", 16], ["unroll_explicit", 0], ["parallel_launch_point", 1], ["note", "hello"]]);
    return { text: `${st.name}.pragma(${leaf.var.name}, ${JSON.stringify(key)}, ${JSON.stringify(value)})`, apply: () => { st.pragma(leaf, key, value); } };
  }

  // ---- stages ----

  /** Non-inlined computes that (through inlined stages) read `st`'s tensor. */
  private readersOf(st: Stage): Stage[] {
    const out: Stage[] = [];
    for (const c of this.s.consumersOf(st)) {
      if (c.attach.kind === "inline") out.push(...this.readersOf(c));
      else out.push(c);
    }
    return out;
  }

  /** Non-inlined computes that `st` reads (through inlined stages). */
  private producersOf(st: Stage): Stage[] {
    const out = new Set<Stage>();
    const visit = (q: Stage) => {
      for (const z of this.s.stages) {
        if (z.op === null || !q.op || !readsTensor(q.op, z.tensor)) continue;
        if (z.attach.kind === "inline") visit(z);
        else out.add(z);
      }
    };
    visit(st);
    return [...out];
  }

  /**
   * True if every stage computed at another one is computed before all its readers and
   * outside their loops (see the file comment).
   */
  private attachmentsConsistent(): boolean {
    for (const q of this.s.stages) {
      if (q.attach.kind !== "at") continue;
      const t = q.attach.stage as Stage;
      if (t.attach.kind === "inline") return false;
      const at = t.leaves.indexOf(q.attach.axis);
      if (at < 0) return false;
      for (const c of this.readersOf(q)) {
        if (c === t) continue;
        let found = false;
        for (let a = c.attach, hops = 0; a.kind === "at" && hops < 64; a = (a.stage as Stage).attach, hops++) {
          if (a.stage === t) { found = t.leaves.indexOf(a.axis) >= at; break; }
        }
        if (!found) return false;
      }
    }
    return true;
  }

  /** Stages computed (transitively) inside `st`, and `st` itself. */
  private insideOf(st: Stage): Set<Stage> {
    const out = new Set<Stage>([st]);
    for (const q of this.s.stages) if (this.s.isAttachedInside(q, st)) out.add(q);
    return out;
  }

  /** Fresh as cache_write requires, with nothing computed at it and its producers at root. */
  private canRestructure(st: Stage): boolean {
    return !this.hasAttached(st) && this.producersOf(st).every((q) => q.attach.kind === "root");
  }

  private planCacheWrite(): Action | null {
    const cands = this.loopStages().filter((st) =>
      st.relations.length === 0 && st.annotations.size === 0 && st.pragmas.size === 0
      && st.leaves.every((l, k) => l === st.rootAxes[k]) && this.canRestructure(st));
    if (cands.length === 0) return null;
    const st = this.pick(cands);
    const scope = this.pick(["local", "global"] as const);
    return { text: `cache_write(${st.name}, "${scope}")`, apply: () => { cacheWrite(this.s, st.tensor, scope); } };
  }

  /**
   * Caches an input (sometimes an intermediate computed at root) for all its readers, then
   * usually computes the cache at a leaf where it stays consistent (a leaf of its reader,
   * or of a stage its reader is inlined into).
   */
  private planCacheRead(): Action | null {
    const inputs = this.w.inputs.filter((t) => !this.cached.has(t));
    const inner = this.s.stages
      .filter((q) => q.op !== null && !q.isOutput && !this.cached.has(q.tensor) && q.attach.kind !== "at"
        && this.producersOf(q).every((z) => z.attach.kind === "root"))
      .map((q) => q.tensor);
    const cands = [...inputs, ...(this.rng.float() < 0.3 ? inner : [])];
    if (cands.length === 0) return null;
    const t = this.pick(cands);
    const readers = this.s.consumersOf(this.s.stage(t));
    if (readers.length === 0) return null;
    const scope = this.pick(["global", "local"] as const);
    const attach = this.rng.float() < 0.8;
    return {
      text: `cache_read(${t.name}, "${scope}", [${readers.map((r) => r.name).join(", ")}])`,
      apply: () => {
        const cache = this.s.stage(cacheRead(this.s, t, scope, readers.map((r) => r.tensor)));
        this.cached.add(t);
        this.cached.add(cache.tensor);
        const targets = attach ? this.attachTargets(cache) : [];
        if (targets.length === 0) return "";
        const [st, leaf] = this.pick(targets);
        cache.computeAt(st, leaf);
        return `; ${cache.name}.compute_at(${st.name}, ${leaf.var.name})  [leaves ${leafList(st)}]`;
      },
    };
  }

  /** Every (stage, leaf) where `q` may be computed, keeping the schedule consistent. */
  private attachTargets(q: Stage): [Stage, Axis][] {
    const inside = this.insideOf(q);
    const out: [Stage, Axis][] = [];
    const saved = q.attach;
    try {
      for (const t of this.loopStages()) {
        if (inside.has(t)) continue;
        for (const leaf of t.leaves) {
          q.attach = { kind: "at", stage: t, axis: leaf };
          if (this.attachmentsConsistent()) out.push([t, leaf]);
        }
      }
    } finally {
      q.attach = saved;
    }
    return out;
  }

  private planComputeAt(): Action | null {
    const cands = this.loopStages().filter((q) => !q.isOutput);
    const options = cands.map((q) => [q, this.attachTargets(q)] as [Stage, [Stage, Axis][]]);
    // Prefer stages not yet attached (the interesting move), but allow re-attaching.
    const fresh = options.filter(([q, ts]) => q.attach.kind === "root" && ts.length > 0);
    const c = this.pickFrom(fresh.length > 0 && this.rng.float() < 0.8 ? fresh : options);
    if (!c) return null;
    const [q, [t, leaf]] = c;
    return {
      text: `${q.name}.compute_at(${t.name}, ${leaf.var.name})  [leaves ${leafList(t)}]`,
      apply: () => { q.computeAt(t, leaf); },
    };
  }

  private planComputeRoot(): Action | null {
    const cands = this.loopStages().filter((q) => {
      if (q.attach.kind !== "at") return false;
      const saved = q.attach;
      q.attach = { kind: "root" };
      const ok = this.attachmentsConsistent();
      q.attach = saved;
      return ok;
    });
    if (cands.length === 0) return null;
    const q = this.pick(cands);
    return { text: `${q.name}.compute_root()`, apply: () => { q.computeRoot(); } };
  }

  private planComputeInline(): Action | null {
    const cands = this.loopStages().filter((q) => {
      if (q.isOutput || q.op!.body.kind === "reduce" || this.hasAttached(q)) return false;
      const saved = q.attach;
      q.attach = { kind: "inline" };
      const ok = this.attachmentsConsistent();
      q.attach = saved;
      return ok;
    });
    if (cands.length === 0) return null;
    const q = this.pick(cands);
    return { text: `${q.name}.compute_inline()`, apply: () => { q.computeInline(); } };
  }

  /** rfactor of an unsplit reduce axis or either side of one split of one. */
  private planRfactor(): Action | null {
    const c = this.pickFrom(this.loopStages().map((st) => {
      const body = st.op!.body;
      if (body.kind !== "reduce" || !this.canRestructure(st)) return [st, []];
      const roots = new Set<Axis>(body.axes);
      const ok = (l: Axis) => l.kind === "reduce" && (roots.has(l) || st.relations.some((r) =>
        r.kind === "split" && (r.inner === l || r.outer === l) && roots.has(r.parent) && st.constExtent(r.parent) !== null));
      return [st, st.leaves.filter(ok)];
    }));
    if (!c) return null;
    const [st, leaf] = c;
    const factorIndex = this.rng.int(0, st.axis.length + 1);
    return {
      text: `rfactor(${st.name}, ${leaf.var.name}, factorIndex=${factorIndex})  [leaves ${leafList(st)}]`,
      apply: () => { rfactor(this.s, st.tensor, leaf, factorIndex); },
    };
  }
}

const leafList = (st: Stage): string => st.leaves.map((l) => l.var.name).join(" ");

/** A one-line view of every stage: where it is computed and its loops with annotations. */
export function describeSchedule(s: Schedule): string {
  return s.stages.filter((st) => st.op).map((st) => {
    const where = st.attach.kind === "at" ? `at ${st.attach.stage.name}.${st.attach.axis.var.name}` : st.attach.kind;
    const loops = st.leaves.map((l) => {
      const a = st.annotations.get(l);
      return a && a.forKind !== "serial" ? `${l.var.name}:${a.forKind}` : l.var.name;
    }).join(" ");
    return `  ${st.name} (${where}, ${st.scope}): ${loops}`;
  }).join("\n");
}
