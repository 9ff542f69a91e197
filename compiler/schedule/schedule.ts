/**
 * Schedules: one stage per tensor, holding its loop structure (leaf axes, split/fuse
 * relations), annotations and where it is computed. The algorithm (compiler/te) is never
 * changed by loop primitives; cache_read/cache_write/rfactor add stages (compiler/schedule/cache.ts).
 */
import { constInt, visitExpr } from "../te/expr.ts";
import type { ComputeOp, IterVar, Tensor } from "../te/tensor.ts";
import { postOrder } from "../te/tensor.ts";
import { ScheduleError } from "../../core/errors.ts";
import type { Scope } from "../te/buffer.ts";
import type { Annotation, Attach, Axis, Relation, TensorIntrin } from "./axis.ts";
import { deriveAxis } from "./axis.ts";

export class Stage {
  /** Loop order, outermost first. */
  leaves: Axis[];
  relations: Relation[] = [];
  readonly annotations = new Map<Axis, Annotation>();
  readonly pragmas = new Map<Axis, { key: string; value: string | number }[]>();
  readonly tensorized = new Map<Axis, TensorIntrin>();
  attach: Attach = { kind: "root" };
  scope: Scope = "global";

  constructor(
    readonly schedule: Schedule,
    /** The tensor this stage produces (consumers refer to it). */
    readonly tensor: Tensor,
    /** What the stage computes; may differ from tensor.op after cache_write/rfactor. */
    public op: ComputeOp | null,
    public isOutput: boolean,
  ) {
    this.leaves = op ? [...op.axes, ...reduceAxesOf(op)] : [];
  }

  get name(): string { return this.tensor.name; }
  /** The compute's data axes (TVM's `s[C].op.axis`). */
  get axis(): readonly IterVar[] { return this.op?.axes ?? []; }
  get reduceAxis(): readonly IterVar[] { return this.op ? reduceAxesOf(this.op) : []; }
  get rootAxes(): readonly IterVar[] { return [...this.axis, ...this.reduceAxis]; }

  // ---- loop structure ----

  split(axis: Axis, opts: { factor: number } | { nparts: number }): [Axis, Axis] {
    const pos = this.leafIndex(axis, "split");
    const factor = "factor" in opts ? opts.factor : null;
    const nparts = "nparts" in opts ? opts.nparts : null;
    const n = factor ?? nparts!;
    if (!Number.isInteger(n) || n < 1) {
      throw new ScheduleError(`stage ${this.name}: split of axis ${axis.var.name} needs a positive integer ${factor !== null ? "factor" : "nparts"}, got ${n}`);
    }
    const ext = this.constExtent(axis);
    if (ext !== null && n > ext) {
      throw new ScheduleError(`stage ${this.name}: split ${factor !== null ? "factor" : "nparts"} ${n} of axis ${axis.var.name} is larger than its extent ${ext}`);
    }
    const outer = deriveAxis(`${axis.var.name}.o`, axis.kind);
    const inner = deriveAxis(`${axis.var.name}.i`, axis.kind);
    this.relations.push({ kind: "split", parent: axis, outer, inner, factor, nparts });
    this.leaves.splice(pos, 1, outer, inner);
    this.moveAnnotation(axis, null);
    // A stage computed inside loop `axis` is computed inside each of its (outer, inner) iterations.
    this.retargetAttachments([axis], inner);
    return [outer, inner];
  }

  /** tile(x, y, fx, fy) = split both, then order xo, yo, xi, yi. */
  tile(x: Axis, y: Axis, fx: number, fy: number): [Axis, Axis, Axis, Axis] {
    const [xo, xi] = this.split(x, { factor: fx });
    const [yo, yi] = this.split(y, { factor: fy });
    this.reorder(xo, yo, xi, yi);
    return [xo, yo, xi, yi];
  }

  fuse(outer: Axis, inner: Axis): Axis {
    const a = this.leafIndex(outer, "fuse"), b = this.leafIndex(inner, "fuse");
    if (b !== a + 1) {
      throw new ScheduleError(`stage ${this.name}: fuse needs adjacent axes in loop order, but ${outer.var.name} and ${inner.var.name} are not (reorder first)`);
    }
    if (outer.kind !== inner.kind) {
      throw new ScheduleError(`stage ${this.name}: cannot fuse data axis with reduce axis (${outer.var.name}, ${inner.var.name})`);
    }
    const fused = deriveAxis(`${outer.var.name}.${inner.var.name}.f`, outer.kind);
    this.relations.push({ kind: "fuse", outer, inner, fused });
    this.leaves.splice(a, 2, fused);
    this.retargetAttachments([outer, inner], fused);
    return fused;
  }

  /** Puts the given leaves, in this order, into the positions they occupy now. */
  reorder(...axes: Axis[]): void {
    const positions = axes.map((x) => this.leafIndex(x, "reorder"));
    if (new Set(positions).size !== positions.length) throw new ScheduleError(`stage ${this.name}: reorder names an axis twice`);
    const next = [...this.leaves];
    [...positions].sort((p, q) => p - q).forEach((p, k) => { next[p] = axes[k]!; });
    this.checkAttachPointsKept(next);
    this.leaves = next;
  }

  // ---- where it is computed ----

  computeAt(parent: Stage, axis: Axis): void {
    this.requireCompute("compute_at");
    if (this.isOutput) throw new ScheduleError(`stage ${this.name}: an output cannot be computed at another stage`);
    if (parent === this) throw new ScheduleError(`stage ${this.name}: cannot compute at itself`);
    if (!parent.leaves.includes(axis)) {
      throw new ScheduleError(`stage ${this.name}: compute_at axis ${axis.var.name} is not a loop of stage ${parent.name}`);
    }
    if (!this.schedule.dependsOn(parent, this)) {
      throw new ScheduleError(`stage ${this.name}: compute_at target ${parent.name} does not consume ${this.name}`);
    }
    this.attach = { kind: "at", stage: parent, axis };
  }

  computeInline(): void {
    this.requireCompute("compute_inline");
    if (this.isOutput) throw new ScheduleError(`stage ${this.name}: an output cannot be inlined`);
    if (this.op!.body.kind === "reduce") throw new ScheduleError(`stage ${this.name}: a reduction cannot be inlined`);
    if (this.schedule.stages.some((s) => s.attach.kind === "at" && s.attach.stage === this)) {
      throw new ScheduleError(`stage ${this.name}: cannot inline a stage that others are computed at`);
    }
    this.attach = { kind: "inline" };
  }

  computeRoot(): void {
    this.requireCompute("compute_root");
    this.attach = { kind: "root" };
  }

  // ---- loop annotations ----

  vectorize(axis: Axis): void { this.annotate(axis, { forKind: "vectorized" }, "vectorize"); }
  unroll(axis: Axis): void { this.annotate(axis, { forKind: "unrolled" }, "unroll"); }
  parallel(axis: Axis): void { this.annotate(axis, { forKind: "parallel" }, "parallel"); }
  /** Binds a loop to a GPU thread axis ("blockIdx.x", "threadIdx.y", …); code generation comes with GPU targets. */
  bind(axis: Axis, thread: string): void {
    if (!/^(blockIdx|threadIdx)\.[xyz]$/.test(thread)) {
      throw new ScheduleError(`stage ${this.name}: bind of ${axis.var.name} to unknown thread axis "${thread}"`);
    }
    this.annotate(axis, { forKind: "thread", thread }, "bind");
  }
  /** Marks a loop as virtual threads (interleaved for latency hiding by the target's lowering). */
  vthread(axis: Axis): void { this.annotate(axis, { forKind: "vthread" }, "vthread"); }

  pragma(axis: Axis, key: string, value: string | number = 1): void {
    this.leafIndex(axis, "pragma");
    const list = this.pragmas.get(axis) ?? [];
    list.push({ key, value });
    this.pragmas.set(axis, list);
  }

  /** Replaces the loop nest from `axis` inwards by a hardware intrinsic. */
  tensorize(axis: Axis, intrin: TensorIntrin): void {
    this.leafIndex(axis, "tensorize");
    this.tensorized.set(axis, intrin);
  }

  // ---- helpers ----

  leafIndex(axis: Axis, primitive: string): number {
    const i = this.leaves.indexOf(axis);
    if (i >= 0) return i;
    const consumed = this.relations.some((r) => (r.kind === "split" ? r.parent === axis : r.outer === axis || r.inner === axis));
    throw new ScheduleError(
      consumed
        ? `stage ${this.name}: ${primitive} of axis ${axis.var.name}, which was already split or fused (use its new axes)`
        : `stage ${this.name}: ${primitive} of axis ${axis.var.name}, which is not an axis of this stage`,
    );
  }

  private annotate(axis: Axis, a: Annotation, primitive: string): void {
    this.leafIndex(axis, primitive);
    if (axis.kind === "reduce" && a.forKind !== "unrolled" && a.forKind !== "vthread") {
      throw new ScheduleError(`stage ${this.name}: cannot ${primitive} reduce axis ${axis.var.name} (iterations write the same element; use rfactor first)`);
    }
    if (a.forKind === "vectorized" || a.forKind === "unrolled") {
      const ext = this.constExtent(axis);
      if (ext === null && a.forKind === "vectorized") {
        throw new ScheduleError(`stage ${this.name}: cannot vectorize axis ${axis.var.name}: its extent is not a constant (split it by a constant factor first)`);
      }
    }
    this.annotations.set(axis, a);
  }

  private retargetAttachments(from: readonly Axis[], to: Axis): void {
    for (const st of this.schedule.stages) {
      if (st.attach.kind === "at" && st.attach.stage === this && from.includes(st.attach.axis)) st.attach = { kind: "at", stage: this, axis: to };
    }
  }

  private moveAnnotation(from: Axis, to: Axis | null): void {
    const a = this.annotations.get(from);
    this.annotations.delete(from);
    if (a && to) this.annotations.set(to, a);
  }

  private requireCompute(primitive: string): void {
    if (!this.op) throw new ScheduleError(`stage ${this.name}: ${primitive} on a placeholder (inputs are not computed)`);
  }

  /** The extent of an axis when it is a known constant from the compute's domain, else null. */
  constExtent(axis: Axis): number | null {
    const root = this.rootAxes.find((r) => r === axis);
    if (root) return constInt(root.dom.extent);
    for (const r of this.relations) {
      if (r.kind === "split" && (r.outer === axis || r.inner === axis)) {
        const p = this.constExtent(r.parent);
        if (r.factor !== null) return axis === r.inner ? r.factor : p === null ? null : Math.ceil(p / r.factor);
        return axis === r.outer ? r.nparts : p === null ? null : Math.ceil(p / r.nparts!);
      }
      if (r.kind === "fuse" && r.fused === axis) {
        const a = this.constExtent(r.outer), b = this.constExtent(r.inner);
        return a === null || b === null ? null : a * b;
      }
    }
    return null;
  }

  /** Rejects a loop order that would move a loop across a point where another stage is computed. */
  private checkAttachPointsKept(next: readonly Axis[]): void {
    for (const s of this.schedule.stages) {
      if (s.attach.kind !== "at" || s.attach.stage !== this) continue;
      const at = s.attach.axis;
      const before = new Set(this.leaves.slice(0, this.leaves.indexOf(at) + 1));
      const after = new Set(next.slice(0, next.indexOf(at) + 1));
      const moved = [...before].filter((x) => !after.has(x)).concat([...after].filter((x) => !before.has(x)));
      if (moved.length > 0) {
        throw new ScheduleError(`stage ${this.name}: reorder moves axis ${moved.map((m) => m.var.name).join(", ")} across ${at.var.name}, where stage ${s.name} is computed (compute_at)`);
      }
    }
  }
}

const reduceAxesOf = (op: ComputeOp): readonly IterVar[] => (op.body.kind === "reduce" ? op.body.axes : []);

export class Schedule {
  /** Producers before consumers. */
  readonly stages: Stage[];

  constructor(readonly outputs: readonly Tensor[]) {
    this.stages = postOrder(outputs).map((t) => new Stage(this, t, t.op.kind === "compute" ? t.op : null, outputs.includes(t)));
  }

  /** `s.stage(C)`, TVM's `s[C]`. */
  stage(t: Tensor): Stage {
    const s = this.stages.find((x) => x.tensor === t);
    if (!s) throw new ScheduleError(`tensor ${t.name} is not part of this schedule`);
    return s;
  }

  /** Stages whose compute reads `s`'s tensor. */
  consumersOf(s: Stage): Stage[] {
    return this.stages.filter((c) => c.op !== null && readsTensor(c.op, s.tensor));
  }

  /** True if `consumer` reads `producer`'s tensor, directly or through other stages. */
  dependsOn(consumer: Stage, producer: Stage): boolean {
    const seen = new Set<Stage>();
    const walk = (p: Stage): boolean => {
      for (const c of this.consumersOf(p)) {
        if (c === consumer) return true;
        if (!seen.has(c)) { seen.add(c); if (walk(c)) return true; }
      }
      return false;
    };
    return walk(producer);
  }

  /** True if `s` is (transitively) computed inside `parent`'s loops. */
  isAttachedInside(s: Stage, parent: Stage): boolean {
    for (let a = s.attach; a.kind === "at"; a = (a.stage as Stage).attach) if (a.stage === parent) return true;
    return false;
  }

  /** Inserts a stage right before `before` in the order, keeping producers first. */
  insertStage(stage: Stage, before: Stage): void {
    this.stages.splice(this.stages.indexOf(before), 0, stage);
  }
}

export function readsTensor(op: ComputeOp, t: Tensor): boolean {
  let found = false;
  visitExpr(op.body, (e) => { if (e.kind === "access" && e.tensor === t) found = true; });
  return found;
}

export const createSchedule = (outputs: Tensor | readonly Tensor[]): Schedule =>
  new Schedule(Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor]);

