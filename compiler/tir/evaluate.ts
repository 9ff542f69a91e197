/**
 * An evaluator for the loop IR: runs a PrimFunc on arrays, after lowering or after any
 * loop-IR pass, so a pass that changes a kernel's meaning can be found by evaluating the
 * kernel after every pass (`evaluateAfterEachPass`, `firstDivergence`).
 *
 * Semantics are compiler/te/evaluate.ts's, so its results are the reference:
 * - floats are computed in f64; every *store* rounds to the buffer's dtype (`wrapTo`);
 *   integer arithmetic wraps to its dtype after every operation; integer floordiv/floormod
 *   round toward −∞, truncdiv/truncmod toward zero; an integer division by zero throws;
 * - a scalar `select` evaluates only the chosen branch; a vector `select` evaluates both
 *   arms in every lane, as a vector instruction does (the vectorize pass keeps loads out of
 *   lane-varying selects, and this catches it when it does not);
 * - vectors (ramps, broadcasts, multi-lane loads and stores) are evaluated lane by lane; a
 *   vector store computes all lanes' values and indices before writing any lane;
 * - loops of every kind run serially in order: `parallel` iterations must be independent
 *   (`parallelOrder: "reverse"` runs them backwards to expose a dependence), `vectorized`
 *   and `unrolled` ones not yet rewritten by their pass mean a plain loop, `vthread` and
 *   `thread` loops run as plain loops too (barriers order nothing) — the loop IR's
 *   sequential meaning, which a GPU target's barriers must preserve;
 * - with `threads: "lockstep"` the kernel runs as a GPU runs it instead: the body once per
 *   thread of every workgroup of its launch (gpu-launch.ts `launchOf`), each thread-bound
 *   loop doing only its thread's iteration, shared allocations once per workgroup, other
 *   allocations per thread, and threads run one after another up to each barrier, where
 *   all of them must arrive (one that finishes while others wait is an error). A missing
 *   barrier then shows as a read of another thread's data before it is written;
 * - allocations are fresh on every entry and filled with poison (NaN for floats, 0x5A… for
 *   integers), so a read before the first write shows in the outputs;
 * - an out-of-bounds load or store throws, naming the buffer, the index (and lane) and the
 *   shape; a buffer read outside its allocation throws when compiled. Constructs outside
 *   this (a vector `if` or `let`, mixed lane counts, an unknown thread tag, lock step with a
 *   non-constant threadIdx extent) throw an EvalError naming them, never a guess.
 *
 * Every parameter is copied into f64 storage (values rounded to its dtype) before running
 * and the parameters the kernel stores to are copied back at the end, so the caller's
 * arrays are untouched when evaluation fails. f16 buffers take values, not IEEE half bits.
 */
import type { DType } from "../../core/dtype.ts";
import { isFloat, wrapTo } from "../../core/dtype.ts";
import { EvalError, affineFn, binaryFn, compareFn, intrinsicFn, logicalFn, notFn, wrapper, type Affine, type Fn } from "../te/evaluate.ts";
import type { Expr, Var } from "../te/expr.ts";
import { INTRINSIC_ARITY, constInt, lanesOf, visitExpr } from "../te/expr.ts";
import type { Buffer } from "../te/buffer.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Tensor } from "../te/tensor.ts";
import { lowerSchedule } from "./lower.ts";
import type { Pass } from "./pass.ts";
import { printExpr } from "./print.ts";
import type { PrimFunc, Stmt } from "./stmt.ts";
import { visitStmt } from "./stmt.ts";
import { launchOf } from "./passes/gpu-launch.ts";
import { simplify } from "../arith/index.ts";

/** A caller's array: any number-valued array (typed or plain), or a BigInt64Array for i64. */
export type TirArray = { readonly length: number; [index: number]: number } | BigInt64Array;
/** Arrays by parameter name. */
export type TirBuffers = ReadonlyMap<string, TirArray> | Readonly<Record<string, TirArray>>;

export interface TirEvalOptions {
  /** Values of the kernel's size variables by name; those not given are inferred from array lengths. */
  readonly sizes?: Readonly<Record<string, number>>;
  /** Order of `parallel` loops' iterations (default forward); "reverse" exposes iterations that depend on each other. */
  readonly parallelOrder?: "forward" | "reverse";
  /**
   * How loops bound to GPU threads run. "serial" (default): as plain loops, the loop IR's
   * sequential meaning. "lockstep": as a GPU runs them — one run of the body per thread of
   * every workgroup (launchOf), each thread-bound loop doing its thread's iteration, threads
   * waiting for each other at barriers; this shows a missing barrier (threads run one after
   * another between barriers) or a wrong thread binding.
   */
  readonly threads?: "serial" | "lockstep";
}

/**
 * Runs `f` on `buffers` (one array per parameter, by name, row-major), writing the
 * parameters it stores to in place. Throws an EvalError (a LatheError) for a construct it
 * does not evaluate, an out-of-bounds access, or arrays that do not fit the parameters.
 */
export function evaluatePrimFunc(f: PrimFunc, buffers: TirBuffers, opts: TirEvalOptions = {}): void {
  const get = (name: string): TirArray | undefined =>
    buffers instanceof Map ? buffers.get(name) : Object.hasOwn(buffers, name) ? (buffers as Record<string, TirArray>)[name] : undefined;
  const names = new Set<string>();
  for (const p of f.params) {
    if (names.has(p.name)) throw new EvalError(`kernel ${f.name}: two parameters are named ${p.name}; arrays are matched by name`);
    names.add(p.name);
  }
  const given = f.params.map((p) => {
    const a = get(p.name);
    if (a === undefined) throw new EvalError(`kernel ${f.name}: no array given for parameter ${p.name}`);
    if (p.dtype === "f16" && a instanceof Uint16Array) {
      throw new EvalError(`kernel ${f.name}: parameter ${p.name} is f16; pass its values (Float32Array or Float64Array), not half bits`);
    }
    return a;
  });
  const comp = new Compiler(f, opts.parallelOrder ?? "forward", opts.threads ?? "serial");
  const sizes = resolveSizes(f, given, opts.sizes ?? {});
  for (const [v, n] of sizes) comp.bindSize(v, n);

  const cells = f.params.map((p, k) => {
    const shape = p.shape.map((d, dim) => {
      const n = comp.constant(d, `shape of ${p.name}`);
      if (!Number.isInteger(n) || n < 0) throw new EvalError(`kernel ${f.name}: dimension ${dim} of ${p.name} evaluates to ${n}`);
      return n;
    });
    const size = shape.reduce((a, b) => a * b, 1);
    const src = given[k]!;
    if (src.length !== size) {
      throw new EvalError(`kernel ${f.name}: parameter ${p.name} has ${src.length} element(s), but its shape [${shape.join(", ")}] needs ${size}`);
    }
    const data = new Float64Array(size);
    for (let i = 0; i < size; i++) data[i] = wrapTo(p.dtype, Number(src[i]!));
    const cell: Cell = { buffer: p, data, shape, workgroup: -1 };
    comp.cells.set(p, cell);
    return cell;
  });
  if (opts.threads === "lockstep") comp.runLockstep(f);
  else comp.stmt(f.body)();

  const written = new Set<Buffer>();
  visitStmt(f.body, (s) => { if (s.kind === "store") written.add(s.buffer); });
  f.params.forEach((p, k) => {
    if (!written.has(p)) return;
    const dst = given[k]!, data = cells[k]!.data;
    if (dst instanceof BigInt64Array) for (let i = 0; i < data.length; i++) dst[i] = BigInt(data[i]!);
    else for (let i = 0; i < data.length; i++) dst[i] = data[i]!;
  });
}

// ---- evaluation after each pass --------------------------------------------------------

/** The kernel after one step of the pipeline ("lower" first, then each pass by name), and what it computed. */
export type PassStep =
  | { readonly pass: string; readonly index: number; readonly func: PrimFunc; readonly outputs: ReadonlyMap<string, Float64Array> }
  | { readonly pass: string; readonly index: number; readonly func: PrimFunc; readonly error: EvalError };

/**
 * Evaluates `func` as lowered, then after each of `passes` in turn (a pass list such as a
 * target's `passes`). Each evaluation starts from copies of `inputs`; every parameter not
 * in `inputs` is an output, created full of poison. A failed evaluation (out of bounds, say)
 * is recorded in its step rather than thrown; a pass that throws propagates.
 */
export function evaluateAfterEachPass(
  func: PrimFunc,
  passes: readonly Pass[],
  inputs: TirBuffers,
  opts: TirEvalOptions = {},
): PassStep[] {
  const steps: PassStep[] = [];
  let cur = func;
  const step = (pass: string, index: number): void => {
    try {
      steps.push({ pass, index, func: cur, outputs: runFresh(cur, inputs, opts) });
    } catch (err) {
      if (!(err instanceof EvalError)) throw err;
      steps.push({ pass, index, func: cur, error: err });
    }
  };
  step("lower", 0);
  passes.forEach((p, k) => {
    cur = p.run(cur);
    step(p.name, k + 1);
  });
  return steps;
}

/** Lowers `s` (compiler/tir/lower.ts) and evaluates the result after each of `passes`. */
export function lowerAndEvaluateAfterEachPass(
  s: Schedule,
  args: readonly Tensor[],
  passes: readonly Pass[],
  inputs: TirBuffers,
  opts: TirEvalOptions & { readonly name?: string } = {},
): PassStep[] {
  return evaluateAfterEachPass(lowerSchedule(s, args, opts.name ?? "kernel"), passes, inputs, opts);
}

function runFresh(f: PrimFunc, inputs: TirBuffers, opts: TirEvalOptions): Map<string, Float64Array> {
  const has = (n: string): boolean => (inputs instanceof Map ? inputs.has(n) : Object.hasOwn(inputs, n));
  const get = (n: string): TirArray => (inputs instanceof Map ? inputs.get(n)! : (inputs as Record<string, TirArray>)[n]!);
  const names = inputs instanceof Map ? [...inputs.keys()] : Object.keys(inputs);
  const unknown = names.filter((n) => !f.params.some((p) => p.name === n));
  if (unknown.length > 0) throw new EvalError(`kernel ${f.name} has no parameter named ${unknown.join(", ")} (its parameters: ${f.params.map((p) => p.name).join(", ")})`);
  const arrays = new Map<string, TirArray>();
  const outputs = new Map<string, Float64Array>();
  const known: Record<string, number> = { ...opts.sizes };
  // Outputs' sizes come from the inputs' arrays, so bind those first.
  const sizes = resolveSizes(f, f.params.map((p) => (has(p.name) ? get(p.name) : null)), known);
  for (const [v, n] of sizes) known[v.name] = n;
  for (const p of f.params) {
    if (has(p.name)) {
      const src = get(p.name);
      arrays.set(p.name, src instanceof BigInt64Array ? BigInt64Array.from(src) : Array.from({ length: src.length }, (_, i) => src[i]!));
      continue;
    }
    const size = p.shape.reduce((acc, d) => acc * constantOf(d, sizes, `shape of ${p.name}`), 1);
    const out = new Float64Array(size).fill(poison(p.dtype));
    outputs.set(p.name, out);
    arrays.set(p.name, out);
  }
  evaluatePrimFunc(f, arrays, { ...opts, sizes: known });
  return outputs;
}

export interface Tolerance {
  /** Absolute tolerance (default 0: exact). */
  readonly atol?: number;
  /** Relative tolerance (default 0: exact). */
  readonly rtol?: number;
}

/** Where a step's outputs first differ from the reference. */
export interface Divergence {
  /** The step: "lower" when the lowered kernel already differs, else the pass's name. */
  readonly pass: string;
  /** Its position: 0 for lowering, k for the k-th pass. */
  readonly index: number;
  /** The differing output and element (flat index), with both values; or the evaluation error. */
  readonly output?: string;
  readonly element?: number;
  readonly expected?: number;
  readonly actual?: number;
  readonly error?: EvalError;
}

/**
 * The first step whose outputs differ from `reference` (by output name, e.g. the tensor
 * evaluator's results) beyond the tolerance, or whose evaluation failed; null when none
 * does. Without a reference, the first step (the lowered kernel) is the reference. NaN
 * matches NaN.
 */
export function firstDivergence(
  steps: readonly PassStep[],
  reference?: ReadonlyMap<string, ArrayLike<number>>,
  tol: Tolerance = {},
): Divergence | null {
  const atol = tol.atol ?? 0, rtol = tol.rtol ?? 0;
  let ref = reference;
  for (const s of steps) {
    if ("error" in s) return { pass: s.pass, index: s.index, error: s.error };
    if (ref === undefined) { ref = s.outputs; continue; }
    for (const [name, want] of ref) {
      const got = s.outputs.get(name);
      if (got === undefined) throw new EvalError(`reference output ${name} is not an output of kernel ${s.func.name}`);
      if (got.length !== want.length) return { pass: s.pass, index: s.index, output: name, element: -1, expected: want.length, actual: got.length };
      for (let i = 0; i < got.length; i++) {
        const a = got[i]!, e = want[i]!;
        const same = a === e || (Number.isNaN(a) && Number.isNaN(e)) || Math.abs(a - e) <= atol + rtol * Math.abs(e);
        if (!same) return { pass: s.pass, index: s.index, output: name, element: i, expected: e, actual: a };
      }
    }
  }
  return null;
}

// ---- sizes -------------------------------------------------------------------------------

const POISON_INT = 0x5a5a5a5a;
const poison = (t: DType): number => (isFloat(t) ? NaN : wrapTo(t, POISON_INT));

function constantOf(e: Expr, sizes: ReadonlyMap<Var, number>, where: string): number {
  const c = new Compiler(null, "forward");
  for (const [v, n] of sizes) c.bindSize(v, n);
  return c.constant(e, where);
}

/**
 * The size variables' values: given by name, else each inferred from the array of the
 * parameter whose shape it is read from (f.sizeVars), when its other dimensions are known.
 */
function resolveSizes(f: PrimFunc, arrays: readonly (TirArray | null)[], given: Readonly<Record<string, number>>): Map<Var, number> {
  const values = new Map<Var, number>();
  for (const { v } of f.sizeVars) if (Object.hasOwn(given, v.name)) values.set(v, given[v.name]!);
  for (let progress = true; progress;) {
    progress = false;
    for (const { v, param, dim } of f.sizeVars) {
      const arr = arrays[param];
      if (values.has(v) || !arr) continue;
      const p = f.params[param]!;
      let known = 1, ok = true;
      p.shape.forEach((d, k) => {
        if (k === dim || !ok) return;
        try { known *= constantOf(d, values, `shape of ${p.name}`); } catch { ok = false; }
      });
      if (!ok) continue;
      if (known === 0 || arr.length % known !== 0) {
        throw new EvalError(`kernel ${f.name}: parameter ${p.name} has ${arr.length} element(s), not a multiple of its other dimensions (${known}), so ${v.name} cannot be inferred`);
      }
      values.set(v, arr.length / known);
      progress = true;
    }
  }
  for (const { v } of f.sizeVars) {
    if (!values.has(v)) throw new EvalError(`kernel ${f.name}: size variable ${v.name} has no value: pass it in sizes`);
  }
  return values;
}

// ---- the closure compiler ------------------------------------------------------------------

type Run = () => void;
type GRun = () => Generator<void, void, undefined>;

interface Stored { readonly data: Float64Array; readonly shape: number[] }
/** A buffer's storage while it is live: a parameter's for the whole run, an allocation's per entry. */
interface Cell { readonly buffer: Buffer; data: Float64Array; shape: number[]; workgroup: number }

const THREAD_TAGS = ["blockIdx.x", "blockIdx.y", "blockIdx.z", "threadIdx.x", "threadIdx.y", "threadIdx.z"] as const;
type ThreadTag = typeof THREAD_TAGS[number];


class Compiler {
  /** env[1..6] hold the thread indices (THREAD_TAGS order) in lock-step mode. */
  readonly env: number[] = [0, 0, 0, 0, 0, 0, 0];
  /** env[LANE] is the lane a vector expression is being evaluated for. */
  private readonly LANE = 0;
  private readonly slots = new Map<Var, number>();
  /** Variables in scope while compiling (size variables, enclosing loops and lets). */
  private readonly scope = new Set<Var>();
  readonly cells = new Map<Buffer, Cell>();
  /** Buffers allocated around the statement being compiled (parameters are always live). */
  private readonly live = new Set<Buffer>();
  /** Non-shared allocations, which each thread has its own of (lock-step mode). */
  private readonly privateCells: Cell[] = [];
  private readonly barrierMemo = new WeakMap<Stmt, boolean>();
  /** Counts workgroups run, so a shared allocation is made once per workgroup. */
  private workgroup = 0;

  constructor(
    private readonly f: PrimFunc | null,
    private readonly parallelOrder: "forward" | "reverse",
    private readonly threadMode: "serial" | "lockstep" = "serial",
  ) {}

  private get kernel(): string { return this.f ? `kernel ${this.f.name}` : "expression"; }

  bindSize(v: Var, n: number): void {
    this.env[this.slot(v)] = n;
    this.scope.add(v);
  }

  /** The value of a lane-free expression over the bound sizes. */
  constant(e: Expr, where: string): number {
    return this.expr(e, where)();
  }

  private slot(v: Var): number {
    let s = this.slots.get(v);
    if (s === undefined) {
      s = this.env.length;
      this.slots.set(v, s);
      this.env.push(0);
    }
    return s;
  }

  private unsupported(what: string): never {
    throw new EvalError(`${this.kernel}: the loop-IR evaluator does not support ${what}`);
  }

  // ---- statements ----

  /** Whether `s` must compile to a generator: it holds a barrier, in lock-step thread mode. */
  private yields(s: Stmt): boolean {
    if (this.threadMode !== "lockstep") return false;
    let found = this.barrierMemo.get(s);
    if (found === undefined) {
      found = false;
      visitStmt(s, (x) => { if (x.kind === "barrier") found = true; });
      this.barrierMemo.set(s, found);
    }
    return found;
  }

  /** Compiles a statement without barriers (or any statement, in serial thread mode) to a closure. */
  stmt(s: Stmt): Run {
    const env = this.env;
    switch (s.kind) {
      case "for": return this.loop(s);
      case "store": return this.store(s);
      case "allocate": {
        const { enter, exit, body } = this.allocation(s, (b) => this.stmt(b));
        return () => { const saved = enter(); try { body(); } finally { exit(saved); } };
      }
      case "if": {
        const { cond: c, then: t, else: e } = this.branch(s, (b) => this.stmt(b));
        return e ? () => { if (c() !== 0) t(); else e(); } : () => { if (c() !== 0) t(); };
      }
      case "seq": {
        const body = s.body.map((b) => this.stmt(b));
        if (body.length === 2) { const [a, b] = body as [Run, Run]; return () => { a(); b(); }; }
        return () => { for (const b of body) b(); };
      }
      case "let": {
        const { slot, value, body } = this.binding(s, (b) => this.stmt(b));
        return () => { env[slot] = value(); body(); };
      }
      // Attributes (pragmas, tensorize markers) annotate a body whose meaning is the body.
      case "attr": return this.stmt(s.body);
      // Run serially, threads have nothing to wait for (in lock-step mode a barrier yields).
      case "barrier": return () => {};
      case "evaluate": {
        if (lanesOf(s.value) > 1) this.unsupported(`evaluating a ${lanesOf(s.value)}-lane value ${printExpr(s.value)}`);
        const v = this.expr(s.value, "evaluate");
        return () => { v(); };
      }
      case "nop": return () => {};
    }
    return this.unsupported(`statement kind ${(s as { kind: string }).kind}`);
  }

  /** Compiles a statement holding a barrier (lock-step thread mode) to a generator that yields at each barrier. */
  private gen(s: Stmt): GRun {
    if (!this.yields(s)) {
      const run = this.stmt(s);
      return function* () { run(); };
    }
    const env = this.env;
    switch (s.kind) {
      case "barrier": return function* () { yield; };
      case "for": {
        const { slot, min, extent, body, thread, where } = this.loopParts(s, (b) => this.gen(b));
        const check = this.boundsCheck(where);
        if (thread !== null) {
          return function* () {
            const lo = min(), n = extent(), id = env[thread]!;
            check(lo, n);
            if (id < n) { env[slot] = lo + id; yield* body(); }
          };
        }
        const reverse = s.forKind === "parallel" && this.parallelOrder === "reverse";
        return function* () {
          const lo = min(), n = extent();
          check(lo, n);
          for (let k = 0; k < n; k++) { env[slot] = reverse ? lo + n - 1 - k : lo + k; yield* body(); }
        };
      }
      case "allocate": {
        const { enter, exit, body } = this.allocation(s, (b) => this.gen(b));
        return function* () { const saved = enter(); try { yield* body(); } finally { exit(saved); } };
      }
      case "if": {
        const { cond: c, then: t, else: e } = this.branch(s, (b) => this.gen(b));
        return function* () { if (c() !== 0) yield* t(); else if (e) yield* e(); };
      }
      case "seq": {
        const body = s.body.map((b) => this.gen(b));
        return function* () { for (const b of body) yield* b(); };
      }
      case "let": {
        const { slot, value, body } = this.binding(s, (b) => this.gen(b));
        return function* () { env[slot] = value(); yield* body(); };
      }
      case "attr": return this.gen(s.body);
      default: return this.unsupported(`a barrier inside a ${s.kind} statement`);
    }
  }

  private branch<R>(s: Extract<Stmt, { kind: "if" }>, sub: (b: Stmt) => R): { cond: Fn; then: R; else: R | null } {
    if (lanesOf(s.cond) > 1) this.unsupported(`an if on a ${lanesOf(s.cond)}-lane condition ${printExpr(s.cond)}`);
    return { cond: this.expr(s.cond, "if condition"), then: sub(s.then), else: s.else ? sub(s.else) : null };
  }

  private binding<R>(s: Extract<Stmt, { kind: "let" }>, sub: (b: Stmt) => R): { slot: number; value: Fn; body: R } {
    if (lanesOf(s.value) > 1) this.unsupported(`let ${s.v.name} of a ${lanesOf(s.value)}-lane value`);
    const value = this.expr(s.value, `let ${s.v.name}`);
    const slot = this.slot(s.v);
    const had = this.scope.has(s.v);
    this.scope.add(s.v);
    const body = sub(s.body);
    if (!had) this.scope.delete(s.v);
    return { slot, value, body };
  }

  /**
   * An allocation: `enter` makes the storage (poisoned) and returns what it replaced, `exit`
   * puts that back. In lock-step mode a shared buffer is made once per workgroup, by the
   * first thread to enter, and kept for the others.
   */
  private allocation<R>(s: Extract<Stmt, { kind: "allocate" }>, sub: (b: Stmt) => R): { enter: () => Stored; exit: (saved: Stored) => void; body: R } {
    const b = s.buffer;
    if (this.f?.params.includes(b)) this.unsupported(`allocating parameter ${b.name}`);
    const where = `allocation of ${b.name}`;
    const dims = b.shape.map((d) => this.expr(d, where));
    let cell = this.cells.get(b);
    if (!cell) {
      cell = { buffer: b, data: new Float64Array(0), shape: [], workgroup: -1 };
      this.cells.set(b, cell);
      if (this.threadMode === "lockstep" && b.scope !== "shared") this.privateCells.push(cell);
    }
    const c = cell;
    const outer = this.live.has(b);
    this.live.add(b);
    const body = sub(s.body);
    if (!outer) this.live.delete(b);
    const fill = poison(b.dtype);
    const shared = this.threadMode === "lockstep" && b.scope === "shared";
    const enter = (): Stored => {
      const saved: Stored = { data: c.data, shape: c.shape };
      if (shared && c.workgroup === this.workgroup) return saved;
      const shape = dims.map((d) => d());
      if (shape.some((n) => !Number.isInteger(n) || n < 0)) throw new EvalError(`${this.kernel}: ${where} has shape [${shape.join(", ")}]`);
      c.data = new Float64Array(shape.reduce((a, n) => a * n, 1)).fill(fill);
      c.shape = shape;
      c.workgroup = this.workgroup;
      return saved;
    };
    const exit = shared ? () => {} : (saved: Stored) => { c.data = saved.data; c.shape = saved.shape; };
    return { enter, exit, body };
  }

  private boundsCheck(where: string): (lo: number, n: number) => void {
    return (lo, n) => {
      if (!Number.isInteger(lo) || !Number.isInteger(n)) throw new EvalError(`${this.kernel}: ${where} has bounds min ${lo}, extent ${n}`);
    };
  }

  /** A loop's parts; `thread` is the env slot of its thread index when it runs as one thread's share (lock-step mode). */
  private loopParts<R>(s: Extract<Stmt, { kind: "for" }>, sub: (b: Stmt) => R): { slot: number; min: Fn; extent: Fn; body: R; thread: number | null; where: string } {
    const where = `loop ${s.loopVar.name}`;
    if (lanesOf(s.min) > 1 || lanesOf(s.extent) > 1) this.unsupported(`${where} with vector bounds`);
    const min = this.expr(s.min, `${where} min`), extent = this.expr(s.extent, `${where} extent`);
    const slot = this.slot(s.loopVar);
    const had = this.scope.has(s.loopVar);
    this.scope.add(s.loopVar);
    const body = sub(s.body);
    if (!had) this.scope.delete(s.loopVar);
    const thread = this.threadMode === "lockstep" && s.forKind === "thread" ? this.threadSlot(s.thread ?? "", where) : null;
    return { slot, min, extent, body, thread, where };
  }

  private loop(s: Extract<Stmt, { kind: "for" }>): Run {
    const { slot, min, extent, body, thread, where } = this.loopParts(s, (b) => this.stmt(b));
    const env = this.env;
    const check = this.boundsCheck(where);
    if (thread !== null) {
      // One thread's iteration: its index, if the loop covers it.
      return () => {
        const lo = min(), n = extent(), id = env[thread]!;
        check(lo, n);
        if (id < n) { env[slot] = lo + id; body(); }
      };
    }
    if (s.forKind === "parallel" && this.parallelOrder === "reverse") {
      return () => {
        const lo = min(), n = extent();
        check(lo, n);
        for (let v = lo + n - 1; v >= lo; v--) { env[slot] = v; body(); }
      };
    }
    return () => {
      const lo = min(), n = extent();
      check(lo, n);
      const hi = lo + n;
      for (let v = lo; v < hi; v++) { env[slot] = v; body(); }
    };
  }

  /** The env slot holding a thread axis's index ("blockIdx.x", "threadIdx.y", …). */
  threadSlot(tag: string, where: string): number {
    const k = THREAD_TAGS.indexOf(tag as ThreadTag);
    if (k < 0) this.unsupported(`${where} bound to "${tag}"`);
    return 1 + k;
  }

  /**
   * Runs the compiled body once per thread of every workgroup of `f`'s launch. Threads of a
   * workgroup run one after another up to the next barrier, all of them reaching it before
   * any goes on; a thread that finishes while others wait at a barrier is an error.
   */
  runLockstep(f: PrimFunc): void {
    const launch = launchOf(f);
    visitStmt(f.body, (s) => {
      if (s.kind === "for" && s.forKind === "thread" && s.thread?.startsWith("threadIdx") && constInt(simplify(s.extent)) === null) {
        this.unsupported(`lock-step threads with loop ${s.loopVar.name} bound to ${s.thread} of non-constant extent ${printExpr(s.extent)}`);
      }
    });
    const grid = launch.grid.map((e) => this.constant(e, "launch grid"));
    const [wx, wy, wz] = launch.workgroup;
    const env = this.env;
    const threads: number[][] = [];
    for (let z = 0; z < wz; z++) for (let y = 0; y < wy; y++) for (let x = 0; x < wx; x++) threads.push([x, y, z]);
    const yields = this.yields(f.body);
    const run = yields ? null : this.stmt(f.body);
    const gen = yields ? this.gen(f.body) : null;
    const cells = this.privateCells;
    for (let bz = 0; bz < grid[2]!; bz++) for (let by = 0; by < grid[1]!; by++) for (let bx = 0; bx < grid[0]!; bx++) {
      this.workgroup++;
      env[1] = bx; env[2] = by; env[3] = bz;
      if (run) {
        for (const [x, y, z] of threads) { env[4] = x!; env[5] = y!; env[6] = z!; run(); }
        continue;
      }
      // Each thread's own variables and private buffers, swapped in and out at barriers.
      const states = threads.map(([x, y, z]) => {
        const e = [...env];
        e[4] = x!; e[5] = y!; e[6] = z!;
        return { env: e, cells: cells.map((c) => ({ data: c.data, shape: c.shape })), it: null as Generator<void, void, undefined> | null, done: false };
      });
      for (let round = 0, live = states.length; live > 0; round++) {
        let finished = 0;
        for (const t of states) {
          if (t.done) continue;
          for (let k = 0; k < env.length; k++) env[k] = t.env[k]!;
          cells.forEach((c, k) => { c.data = t.cells[k]!.data; c.shape = t.cells[k]!.shape; });
          t.it ??= gen!();
          if (t.it.next().done) { t.done = true; finished++; }
          for (let k = 0; k < env.length; k++) t.env[k] = env[k]!;
          cells.forEach((c, k) => { t.cells[k] = { data: c.data, shape: c.shape }; });
        }
        if (finished > 0 && finished < live) {
          throw new EvalError(`${this.kernel}: workgroup (${bx}, ${by}, ${bz}): ${live - finished} thread(s) wait at barrier ${round + 1} that ${finished} other thread(s) never reach`);
        }
        live -= finished;
      }
    }
  }

  private cellOf(b: Buffer, access: string): Cell {
    const cell = this.cells.get(b);
    if (!cell || (!this.f?.params.includes(b) && !this.live.has(b))) {
      throw new EvalError(`${this.kernel}: ${access} of ${b.name}, which is neither a parameter nor allocated around it`);
    }
    return cell;
  }

  /** A closure giving the flat element index of `indices` into `cell` for the current lane, bounds-checked. */
  private flatIndex(cell: Cell, indices: readonly Expr[], access: "load" | "store", lanes: number): Fn {
    const b = cell.buffer;
    const rank = b.shape.length;
    if (indices.length !== rank && indices.length !== 1) {
      this.unsupported(`a ${access} of ${b.name} (rank ${rank}) with ${indices.length} indices`);
    }
    const idx = indices.map((i) => this.expr(i, `${access} of ${b.name}`));
    const env = this.env, LANE = this.LANE;
    const oob = (values: number[]): never => {
      const lane = lanes > 1 ? ` (lane ${env[LANE]})` : "";
      const size = cell.shape.reduce((a, n) => a * n, 1);
      throw new EvalError(`${this.kernel}: out-of-bounds ${access} ${b.name}[${values.join(", ")}]${lane}: shape [${cell.shape.join(", ")}], ${size} element(s)`);
    };
    if (idx.length === 1) {
      const [i0] = idx as [Fn];
      // One index into a buffer of any rank: the flat index (after storage flattening).
      return () => {
        const x = i0(), n = cell.data.length;
        if (!(x >= 0 && x < n)) oob([x]);
        return x;
      };
    }
    // Specialised for the common ranks: no loop or allocation per access.
    if (rank === 2) {
      const [i0, i1] = idx as [Fn, Fn];
      return () => {
        const x0 = i0(), x1 = i1(), shape = cell.shape, s1 = shape[1]!;
        if (!(x0 >= 0 && x0 < shape[0]! && x1 >= 0 && x1 < s1)) oob([x0, x1]);
        return x0 * s1 + x1;
      };
    }
    if (rank === 4) {
      const [i0, i1, i2, i3] = idx as [Fn, Fn, Fn, Fn];
      return () => {
        const x0 = i0(), x1 = i1(), x2 = i2(), x3 = i3(), shape = cell.shape;
        const s1 = shape[1]!, s2 = shape[2]!, s3 = shape[3]!;
        if (!(x0 >= 0 && x0 < shape[0]! && x1 >= 0 && x1 < s1 && x2 >= 0 && x2 < s2 && x3 >= 0 && x3 < s3)) oob([x0, x1, x2, x3]);
        return ((x0 * s1 + x1) * s2 + x2) * s3 + x3;
      };
    }
    return () => {
      let flat = 0;
      const shape = cell.shape;
      for (let d = 0; d < rank; d++) {
        const x = idx[d]!(), n = shape[d]!;
        if (!(x >= 0 && x < n)) oob(idx.map((g) => g()));
        flat = flat * n + x;
      }
      return flat;
    };
  }

  private store(s: Extract<Stmt, { kind: "store" }>): Run {
    const cell = this.cellOf(s.buffer, "store");
    const lanes = Math.max(lanesOf(s.value), ...s.indices.map(lanesOf));
    if (lanes > 1 && s.indices.every((i) => lanesOf(i) === 1)) {
      this.unsupported(`a ${lanes}-lane store to one element ${s.buffer.name}[${s.indices.map(printExpr).join(", ")}]`);
    }
    this.checkLanes(s.value, lanes);
    s.indices.forEach((i) => this.checkLanes(i, lanes));
    const flat = this.flatIndex(cell, s.indices, "store", lanes);
    const value = this.expr(s.value, `store to ${s.buffer.name}`);
    const wrap = wrapper(s.buffer.dtype);
    if (lanes === 1) {
      return () => {
        const v = value();
        cell.data[flat()] = wrap(v);
      };
    }
    const env = this.env, LANE = this.LANE;
    const vals = new Float64Array(lanes), at = new Float64Array(lanes);
    return () => {
      for (let k = 0; k < lanes; k++) { env[LANE] = k; vals[k] = value(); at[k] = flat(); }
      env[LANE] = 0;
      const data = cell.data;
      for (let k = 0; k < lanes; k++) data[at[k]!] = wrap(vals[k]!);
    };
  }

  /** Every node under `e` has `lanes` lanes or one; ramps and broadcasts widen scalars only. */
  private checkLanes(e: Expr, lanes: number): void {
    visitExpr(e, (x) => {
      const n = lanesOf(x);
      if (n !== 1 && n !== lanes) this.unsupported(`a ${n}-lane value inside a ${lanes}-lane one: ${printExpr(e)}`);
      if ((x.kind === "ramp" && (lanesOf(x.base) > 1 || lanesOf(x.stride) > 1)) || (x.kind === "broadcast" && lanesOf(x.value) > 1)) {
        this.unsupported(`a ${x.kind} of vectors: ${printExpr(x)}`);
      }
    });
  }

  // ---- expressions ----

  /** Compiles `e` to a closure computing its value in lane env[LANE]; `where` names it for errors. */
  expr(e: Expr, where: string): Fn {
    const env = this.env;
    if (e.dtype === "i32" && lanesOf(e) === 1 && (e.kind === "bin" || e.kind === "var")) {
      const lin = this.affine(e);
      if (lin) return affineFn(env, lin);
    }
    switch (e.kind) {
      case "const": {
        const v = wrapTo(e.dtype, e.value);
        return () => v;
      }
      case "var": {
        if (!this.scope.has(e)) throw new EvalError(`${this.kernel}: ${where}: variable ${e.name} is not bound here`);
        const s = this.slots.get(e)!;
        return () => env[s]!;
      }
      case "bin": return binaryFn(e.op, e.dtype, this.expr(e.a, where), this.expr(e.b, where), `${this.kernel}: ${where}`);
      case "cmp": return compareFn(e.op, this.expr(e.a, where), this.expr(e.b, where));
      case "and": case "or": return logicalFn(e.kind, this.expr(e.a, where), this.expr(e.b, where));
      case "not": return notFn(this.expr(e.a, where));
      case "call": return intrinsicFn(e.fn, e.dtype, e.args.map((x) => this.expr(x, where)), `${this.kernel}: ${where}`);
      case "select": {
        const c = this.expr(e.cond, where), t = this.expr(e.t, where), f = this.expr(e.f, where);
        if (lanesOf(e.cond) > 1) return () => { const x = t(), y = f(); return c() !== 0 ? x : y; };
        return () => (c() !== 0 ? t() : f());
      }
      case "cast": {
        const v = this.expr(e.value, where), wrap = wrapper(e.dtype);
        return () => wrap(v());
      }
      case "load": {
        const lanes = lanesOf(e);
        if (e.indices.some((i) => lanesOf(i) !== lanes)) {
          this.unsupported(`a ${lanes}-lane load ${printExpr(e)} with indices of other lane counts`);
        }
        const cell = this.cellOf(e.buffer, "load");
        const flat = this.flatIndex(cell, e.indices, "load", lanes);
        return () => cell.data[flat()]!;
      }
      case "ramp": {
        const base = this.expr(e.base, where), stride = this.expr(e.stride, where), wrap = wrapper(e.dtype), LANE = this.LANE;
        return () => wrap(base() + env[LANE]! * stride());
      }
      case "broadcast": return this.expr(e.value, where);
      case "access": case "reduce":
        return this.unsupported(`'${e.kind}', a tensor-expression node that lowering removes (${where})`);
    }
    return this.unsupported(`expression kind ${(e as { kind: string }).kind}`);
  }

  /** `e` as Σ coef·var + c over bound i32 variables (+, −, × by constants); null otherwise. See te/evaluate.ts. */
  private affine(e: Expr): Affine | null {
    switch (e.kind) {
      case "const":
        return Math.abs(e.value) < 2 ** 31 && Number.isInteger(e.value) ? { terms: new Map(), c: e.value } : null;
      case "var": {
        const s = this.scope.has(e) ? this.slots.get(e) : undefined;
        return s === undefined ? null : { terms: new Map([[s, 1]]), c: 0 };
      }
      case "bin": {
        if (e.dtype !== "i32" || e.a.dtype !== "i32" || e.b.dtype !== "i32" || lanesOf(e) > 1) return null;
        if (e.op !== "add" && e.op !== "sub" && e.op !== "mul") return null;
        const a = this.affine(e.a), b = a && this.affine(e.b);
        if (!a || !b) return null;
        let out: Affine;
        if (e.op === "mul") {
          const [k, x] = a.terms.size === 0 ? [a.c, b] : b.terms.size === 0 ? [b.c, a] : [null, null];
          if (k === null || x === null) return null;
          out = { terms: new Map([...x.terms].map(([s, m]) => [s, m * k])), c: x.c * k };
        } else {
          const sign = e.op === "add" ? 1 : -1;
          const terms = new Map(a.terms);
          for (const [s, m] of b.terms) terms.set(s, (terms.get(s) ?? 0) + sign * m);
          out = { terms, c: a.c + sign * b.c };
        }
        if (Math.abs(out.c) >= 2 ** 31 || [...out.terms.values()].some((m) => Math.abs(m) >= 2 ** 20)) return null;
        return out;
      }
      default: return null;
    }
  }
}


