/**
 * `lt`: the TypeScript model API. Tensor operations on `Tracer`s append nodes of the
 * registry ops to the active trace; nothing is computed until the traced graph runs.
 *
 * Design: one way to write each op — a method on `Tracer` (`x.matmul(w).add(b).relu()`).
 * Numbers are accepted where a tensor operand is expected and become scalar constants
 * of the other operand's dtype. Ops with several tensor operands and no natural receiver
 * are functions on `lt` (`lt.concat`, `lt.where`); `lt.op` reaches any registry op by name.
 * Graphs are built inside `lt.trace(fn)` (or by `compileStep`/`grad`/`lt.compile`, which
 * trace for you); `lt.input`, `lt.param` and `lt.step` read the trace that is active while
 * `fn` runs. `lt.compile(fn, specs)` turns a pure function of named tensors into a compiled
 * async function of runtime tensors (JAX's `jit`; jit.ts): the `lt` of train/index.ts
 * (`lathe/train`) is this object plus `compile`, kept out of this file so that layers
 * tracing with `lt` do not load the compiler.
 */
import { LatheError, ShapeError } from "../core/errors.ts";
import type { Attrs, Graph, Value } from "../compiler/graph/graph.ts";
import type { Dim } from "../compiler/graph/types.ts";
import { sameType, showType } from "../compiler/graph/types.ts";
import type { DType } from "../core/dtype.ts";
import type { TypedArray } from "../core/dtype.ts";
import type { Parameter } from "./parameter.ts";
import type { TraceOptions } from "./trace.ts";
import { Trace } from "./trace.ts";

let active: Trace | null = null;

/** Runs `fn` with `t` as the active trace. */
export function withTrace<R>(t: Trace, fn: () => R): R {
  const prev = active;
  active = t;
  try { return fn(); } finally { active = prev; }
}

function current(what: string): Trace {
  if (!active) throw new LatheError(`${what} needs an active trace: build graphs inside lt.trace(...), compileStep or grad`);
  return active;
}

export type Operand = Tracer | number;

export interface Conv2dOptions {
  readonly strides?: readonly number[];
  /** top, left, bottom, right */
  readonly pads?: readonly number[];
  readonly dilations?: readonly number[];
  readonly groups?: number;
}

export interface PoolOptions {
  readonly kernel: readonly number[];
  /** Default: the kernel (non-overlapping windows, as PyTorch). */
  readonly strides?: readonly number[];
  readonly pads?: readonly number[];
}

/** A value of the graph being traced. */
export class Tracer {
  constructor(readonly trace: Trace, readonly value: Value) {}

  get shape(): readonly Dim[] { return this.value.type.shape; }
  get dtype(): DType { return this.value.type.dtype; }
  get rank(): number { return this.value.type.shape.length; }

  private lift(x: Operand): Value {
    if (typeof x === "number") return this.trace.scalar(x, this.dtype);
    // A value of an enclosing trace is read into a loop body as a capture (trace.ts).
    return this.trace.read(x.value, x.trace);
  }
  /** This value in the innermost trace of this and `o` (a loop body's, when `o` is one of its values). */
  private inner(o: Operand): Tracer {
    return typeof o !== "number" && o.trace !== this.trace && o.trace.within(this.trace) ? new Tracer(o.trace, o.trace.read(this.value, this.trace)) : this;
  }
  private un(op: string, attrs: Attrs = {}): Tracer { return new Tracer(this.trace, this.trace.b.op1(op, [this.value], attrs)); }
  private bin(op: string, o: Operand): Tracer { const a = this.inner(o); return new Tracer(a.trace, a.trace.b.op1(op, [a.value, a.lift(o)])); }
  /** `other op this`, for a number on the left (`lt` has no operator overloading). */
  private rbin(op: string, o: Operand): Tracer { const a = this.inner(o); return new Tracer(a.trace, a.trace.b.op1(op, [a.lift(o), a.value])); }

  // Elementwise binary, NumPy broadcasting.
  add(o: Operand): Tracer { return this.bin("add", o); }
  sub(o: Operand): Tracer { return this.bin("sub", o); }
  /** o − this */
  rsub(o: Operand): Tracer { return this.rbin("sub", o); }
  mul(o: Operand): Tracer { return this.bin("mul", o); }
  div(o: Operand): Tracer { return this.bin("div", o); }
  /** o / this */
  rdiv(o: Operand): Tracer { return this.rbin("div", o); }
  pow(o: Operand): Tracer { return this.bin("pow", o); }
  maximum(o: Operand): Tracer { return this.bin("maximum", o); }
  minimum(o: Operand): Tracer { return this.bin("minimum", o); }
  equal(o: Operand): Tracer { return this.bin("equal", o); }
  notEqual(o: Operand): Tracer { return this.bin("not_equal", o); }
  less(o: Operand): Tracer { return this.bin("less", o); }
  lessEqual(o: Operand): Tracer { return this.bin("less_equal", o); }
  greater(o: Operand): Tracer { return this.bin("greater", o); }
  greaterEqual(o: Operand): Tracer { return this.bin("greater_equal", o); }

  // Elementwise unary.
  neg(): Tracer { return this.un("neg"); }
  exp(): Tracer { return this.un("exp"); }
  log(): Tracer { return this.un("log"); }
  sqrt(): Tracer { return this.un("sqrt"); }
  rsqrt(): Tracer { return this.un("rsqrt"); }
  tanh(): Tracer { return this.un("tanh"); }
  sigmoid(): Tracer { return this.un("sigmoid"); }
  relu(): Tracer { return this.un("relu"); }
  leakyRelu(alpha = 0.01): Tracer { return this.un("leaky_relu", { alpha }); }
  gelu(): Tracer { return this.un("gelu"); }
  softplus(): Tracer { return this.un("softplus"); }
  abs(): Tracer { return this.un("abs"); }
  sign(): Tracer { return this.un("sign"); }
  square(): Tracer { return this.mul(this); }
  cast(dtype: DType): Tracer { return dtype === this.dtype ? this : this.un("cast", { dtype }); }
  /** The same value, held constant by differentiation (no gradient flows back through it). */
  stopGradient(): Tracer { return this.un("stop_gradient"); }

  // Reductions (empty axes: all).
  sum(axes: readonly number[] = [], keepdims = false): Tracer { return this.un("sum", { axes, keepdims }); }
  mean(axes: readonly number[] = [], keepdims = false): Tracer { return this.un("mean", { axes, keepdims }); }
  max(axes: readonly number[] = [], keepdims = false): Tracer { return this.un("max", { axes, keepdims }); }
  min(axes: readonly number[] = [], keepdims = false): Tracer { return this.un("min", { axes, keepdims }); }
  logsumexp(axes: readonly number[] = [], keepdims = false): Tracer { return this.un("logsumexp", { axes, keepdims }); }
  /** i32 index of the first maximum along `axis` (a NaN counts as the maximum). */
  argmax(axis: number, keepdims = false): Tracer { return this.un("argmax", { axis, keepdims }); }
  /** i32 index of the first minimum along `axis` (a NaN counts as the minimum). */
  argmin(axis: number, keepdims = false): Tracer { return this.un("argmin", { axis, keepdims }); }

  // Shapes.
  /** 0 copies the input dimension, −1 is inferred (so a symbolic batch survives `[0, -1]`). */
  reshape(shape: readonly number[]): Tracer { return this.un("reshape", { shape }); }
  transpose(perm: readonly number[] = []): Tracer { return this.un("transpose", { perm }); }
  slice(starts: readonly number[], ends: readonly number[], axes: readonly number[], steps?: readonly number[]): Tracer {
    return this.un("slice", { starts, ends, axes, steps: steps ?? starts.map(() => 1) });
  }
  /** Rows of `this` (axis 0 by default) picked by i32 `indices`. */
  gather(indices: Tracer, axis = 0): Tracer {
    return new Tracer(this.trace, this.trace.b.op1("gather", [this.value, this.lift(indices)], { axis }));
  }
  pad(pads: readonly number[], value = 0): Tracer { return this.un("pad", { pads, value }); }
  expand(shape: readonly number[]): Tracer { return this.un("expand", { shape }); }
  squeeze(axes: readonly number[]): Tracer { return this.un("squeeze", { axes }); }
  unsqueeze(axes: readonly number[]): Tracer { return this.un("unsqueeze", { axes }); }
  /** i32 indices → f32 one-hot rows. */
  oneHot(depth: number, axis = -1): Tracer { return this.un("one_hot", { depth, axis }); }

  // Neural-network ops.
  matmul(o: Tracer): Tracer { return this.bin("matmul", o); }
  conv2d(w: Tracer, opts: Conv2dOptions = {}): Tracer {
    return new Tracer(this.trace, this.trace.b.op1("conv2d", [this.value, this.lift(w)], convAttrs(opts)));
  }
  maxPool2d(opts: PoolOptions): Tracer { return this.un("max_pool2d", poolAttrs(opts)); }
  avgPool2d(opts: PoolOptions): Tracer { return this.un("avg_pool2d", poolAttrs(opts)); }
  globalAvgPool2d(): Tracer { return this.un("global_avg_pool2d"); }
  softmax(axis = -1): Tracer { return this.un("softmax", { axis }); }
  logSoftmax(axis = -1): Tracer { return this.un("log_softmax", { axis }); }
}

function convAttrs(o: Conv2dOptions): Attrs {
  return { strides: o.strides ?? [1, 1], pads: o.pads ?? [0, 0, 0, 0], dilations: o.dilations ?? [1, 1], groups: o.groups ?? 1 };
}
function poolAttrs(o: PoolOptions): Attrs {
  return { kernel: o.kernel, strides: o.strides ?? o.kernel, pads: o.pads ?? [0, 0, 0, 0] };
}

/** The innermost trace of the operands (each enclosing it, or it is a loop body they cannot reach: an error). */
const sameTrace = (xs: readonly Tracer[], what: string): Trace => {
  let t = xs[0]?.trace ?? current(what);
  for (const x of xs) if (x.trace !== t && x.trace.within(t)) t = x.trace;
  if (xs.some((x) => !t.within(x.trace))) throw new LatheError(`${what}: operands belong to different traces`);
  return t;
};
/** The operands as values of `t` (values of enclosing traces captured). */
const valuesIn = (t: Trace, xs: readonly Tracer[]): Value[] => xs.map((x) => t.read(x.value, x.trace));

export interface Traced {
  readonly graph: Graph;
  readonly trace: Trace;
  readonly outputs: readonly Tracer[];
}

export const lt = {
  /** Traces `fn` into a graph whose outputs are what `fn` returns. */
  trace(fn: () => Tracer | readonly Tracer[], opts: TraceOptions = {}): Traced {
    const t = new Trace(opts);
    const out = withTrace(t, fn);
    const outputs = Array.isArray(out) ? (out as readonly Tracer[]) : [out as Tracer];
    return { graph: t.graph(outputs.map((o) => o.value)), trace: t, outputs };
  },
  /** A named runtime input; dims may be symbolic ("batch"). */
  input(name: string, shape: readonly Dim[], dtype: DType = "f32"): Tracer {
    const t = current("lt.input");
    return new Tracer(t, t.input(name, shape, dtype));
  },
  /** A parameter's value (fed from `p.value` when the graph runs). */
  param(p: Parameter): Tracer {
    const t = current("lt.param");
    return new Tracer(t, t.param(p));
  },
  /** The number of steps run before this one (i32 scalar). */
  step(): Tracer {
    const t = current("lt.step");
    return new Tracer(t, t.step());
  },
  /** Whether layers should take their training form. */
  training(): boolean { return current("lt.training").training; },
  /** Sets the new value of a state parameter after the step. */
  assign(p: Parameter, v: Tracer): void { sameTrace([v], "lt.assign").assign(p, v.value); },
  scalar(x: number, dtype: DType = "f32"): Tracer {
    const t = current("lt.scalar");
    return new Tracer(t, t.scalar(x, dtype));
  },
  constant(data: TypedArray, shape: readonly number[], dtype: DType = "f32", name = "const"): Tracer {
    const t = current("lt.constant");
    return new Tracer(t, t.b.constant(name, data, shape, dtype));
  },
  concat(xs: readonly Tracer[], axis: number): Tracer {
    const t = sameTrace(xs, "lt.concat");
    return new Tracer(t, t.b.op1("concat", valuesIn(t, xs), { axis }));
  },
  where(cond: Tracer, a: Tracer, b: Tracer): Tracer {
    const t = sameTrace([cond, a, b], "lt.where");
    return new Tracer(t, t.b.op1("where", valuesIn(t, [cond, a, b])));
  },
  /** Any registry op by name; returns all its outputs. */
  op(name: string, inputs: readonly Tracer[], attrs: Attrs = {}): Tracer[] {
    const t = sameTrace(inputs, `lt.op(${name})`);
    return t.b.op(name, valuesIn(t, inputs), attrs).map((v) => new Tracer(t, v));
  },
  /**
   * A loop over axis 0 of the sequences `xs`, as JAX's `lax.scan`: `fn(carry, x)` returns
   * `[newCarry, y]` for one step (x: one slice of each sequence) and is traced once, into
   * the body of one scan node (compiler/graph/scan.ts) — a loop in compiled code, not an
   * unrolled graph. Values of the enclosing trace that `fn` reads (closures, `lt.param`,
   * `lt.step`) become the loop's invariants. Returns `[final carry, ys]`, every y stacked
   * along a new axis 0 in step order (with `reverse`, steps run T−1 … 0 and ys[t] is still
   * step t's). `length` gives the trip count of a scan without sequences.
   */
  scan(fn: ScanBody, init: readonly Tracer[], xs: readonly Tracer[], opts: ScanOptions = {}): [Tracer[], Tracer[]] {
    const t = sameTrace([...init, ...xs], "lt.scan");
    const body = Trace.body(t);
    const carries = init.map((c, k) => new Tracer(body, body.b.input(`carry${k}`, c.shape, c.dtype)));
    const slices = xs.map((x, j) => {
      if (x.rank === 0) throw new ShapeError(`lt.scan: sequence ${j} (${x.value.name}) is a scalar; sequences are scanned along axis 0`);
      return new Tracer(body, body.b.input(`x${j}`, x.shape.slice(1), x.dtype));
    });
    const out: unknown = withTrace(body, () => fn(carries, slices));
    const isList = (v: unknown): v is readonly Tracer[] => Array.isArray(v) && v.every((x) => x instanceof Tracer);
    if (!Array.isArray(out) || out.length !== 2 || !isList(out[0]) || !isList(out[1])) {
      throw new LatheError("lt.scan: the body function must return [newCarry, ys], two arrays of Tracers");
    }
    const [next, ys] = out as [readonly Tracer[], readonly Tracer[]];
    if (next.length !== init.length) throw new LatheError(`lt.scan: the body returns ${next.length} carries for ${init.length} initial ones`);
    next.forEach((c, k) => {
      if (!sameType(c.value.type, init[k]!.value.type)) {
        throw new ShapeError(`lt.scan: carry ${k} comes back as ${showType(c.value.type)}, it went in as ${showType(init[k]!.value.type)}`);
      }
    });
    const graph = body.graph([...next, ...ys].map((x) => body.read(x.value, x.trace)));
    const outs = t.b.scan(graph, { carries: valuesIn(t, init), sequences: valuesIn(t, xs), invariants: [...body.captures.keys()] }, opts);
    return [outs.slice(0, init.length).map((v) => new Tracer(t, v)), outs.slice(init.length).map((v) => new Tracer(t, v))];
  },
};

/** One step of `lt.scan`: this step's carries and slices of the sequences → `[newCarry, ys]`. */
export type ScanBody = (carry: Tracer[], x: Tracer[]) => readonly [readonly Tracer[], readonly Tracer[]];

export interface ScanOptions {
  /** Run the steps T−1 … 0 (outputs still stacked in step order). */
  readonly reverse?: boolean;
  /** The trip count when there are no sequences. */
  readonly length?: number;
}
