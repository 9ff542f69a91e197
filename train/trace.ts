/**
 * A trace is a graph under construction by the `lt` API, plus where each of its inputs
 * comes from when it runs: a named data input, a `Parameter`'s current value, or the
 * step counter. Layers read `training` to choose their training or inference form and
 * record state updates (BatchNorm's running statistics) with `assign`.
 *
 * A loop body (`lt.scan`) is traced into a trace of its own, nested in the trace around
 * it: a value of an enclosing trace that the body reads (a closure, a parameter, the step
 * counter) becomes a body input, captured once and passed to the scan as an invariant.
 */
import { LatheError, ShapeError } from "../core/errors.ts";
import { GraphBuilder } from "../compiler/graph/builder.ts";
import type { Graph, Value } from "../compiler/graph/graph.ts";
import type { Dim } from "../compiler/graph/types.ts";
import { sameType, showType } from "../compiler/graph/types.ts";
import type { DType } from "../core/dtype.ts";
import { typedArrayFor } from "../core/dtype.ts";
import type { Parameter } from "./parameter.ts";

export type InputSource =
  | { readonly kind: "data"; readonly name: string }
  | { readonly kind: "param"; readonly param: Parameter }
  | { readonly kind: "step" };

export interface TraceOptions {
  /** Training form of layers (batch statistics, dropout on); default false. */
  readonly training?: boolean;
}

export class Trace {
  readonly b: GraphBuilder;
  readonly training: boolean;
  /** Every graph input so far, with its source. */
  readonly sources = new Map<Value, InputSource>();
  /** Parameters read, in first-use order, with their graph inputs. */
  readonly params = new Map<Parameter, Value>();
  /** New values for non-trainable parameters, written back after a step. */
  readonly updates = new Map<Parameter, Value>();
  private stepValue: Value | null = null;
  private readonly dataNames = new Set<string>();
  /** The trace this one is a loop body of (lt.scan), or null. */
  readonly parent: Trace | null;
  /** Values of the parent trace this body reads → the body inputs standing for them, in capture order. */
  readonly captures = new Map<Value, Value>();

  constructor(opts: TraceOptions = {}, builder: GraphBuilder = new GraphBuilder(), parent: Trace | null = null) {
    this.training = opts.training ?? false;
    this.b = builder;
    this.parent = parent;
  }

  /** A loop body's trace inside `parent` (lt.scan traces the body function into it). */
  static body(parent: Trace): Trace {
    return new Trace({ training: parent.training }, new GraphBuilder(), parent);
  }

  /** Whether this trace is `t` or nested (as a loop body) inside it. */
  within(t: Trace): boolean {
    for (let c: Trace | null = this; c; c = c.parent) if (c === t) return true;
    return false;
  }

  /** `v`, a value of trace `owner` (this one or an enclosing one), as a value of this trace. */
  read(v: Value, owner: Trace): Value {
    if (owner === this) return v;
    if (!this.parent || !this.within(owner)) throw new LatheError(`lt: ${v.name} and the values of this trace belong to different traces (a loop body reads only values of the traces around it)`);
    const outer = this.parent.read(v, owner);
    let inner = this.captures.get(outer);
    if (!inner) {
      inner = this.b.input(outer.name, outer.type.shape, outer.type.dtype);
      this.captures.set(outer, inner);
    }
    return inner;
  }

  /** A trace that continues `g` (which `prev` traced, then a pass such as autodiff extended), keeping its inputs' sources. */
  static extend(prev: Trace, g: Graph): Trace {
    const t = new Trace({ training: prev.training }, GraphBuilder.from(g));
    prev.sources.forEach((s, v) => t.sources.set(v, s));
    prev.params.forEach((v, p) => t.params.set(p, v));
    prev.updates.forEach((v, p) => t.updates.set(p, v));
    t.stepValue = prev.stepValue;
    prev.dataNames.forEach((n) => t.dataNames.add(n));
    return t;
  }

  input(name: string, shape: readonly Dim[], dtype: DType = "f32"): Value {
    if (this.parent) throw new LatheError(`lt.input ${name}: a loop body takes no inputs of its own (read a value of the enclosing trace instead)`);
    if (this.dataNames.has(name)) throw new LatheError(`lt.input: the trace already has an input named ${name}`);
    this.dataNames.add(name);
    const v = this.b.input(name, shape, dtype);
    this.sources.set(v, { kind: "data", name });
    return v;
  }

  /** The graph input holding `p`'s value (one per parameter per trace). */
  param(p: Parameter): Value {
    if (this.parent) return this.read(this.parent.param(p), this.parent);
    let v = this.params.get(p);
    if (!v) {
      v = this.b.input(p.name, p.shape, p.dtype);
      this.params.set(p, v);
      this.sources.set(v, { kind: "param", param: p });
    }
    return v;
  }

  /** The step counter: an i32 scalar input holding the number of steps run before this one. */
  step(): Value {
    if (this.parent) return this.read(this.parent.step(), this.parent);
    if (!this.stepValue) {
      this.stepValue = this.b.input("step", [], "i32");
      this.sources.set(this.stepValue, { kind: "step" });
    }
    return this.stepValue;
  }

  /** Records `v` as the new value of non-trainable `p` after this step. */
  assign(p: Parameter, v: Value): void {
    if (this.parent) throw new LatheError(`lt.assign: ${p.name} is assigned inside a loop body; return the new value as a carry and assign it after the scan`);
    if (p.trainable) throw new LatheError(`lt.assign: ${p.name} is trainable; only state parameters are assigned (the optimizer updates the others)`);
    const want = this.param(p).type;
    if (!sameType(want, v.type)) throw new ShapeError(`lt.assign: ${p.name} is ${showType(want)}, the new value ${v.name} is ${showType(v.type)}`);
    if (this.updates.has(p)) throw new LatheError(`lt.assign: ${p.name} is assigned twice in one trace`);
    this.updates.set(p, v);
  }

  /** A scalar constant of `dtype`. */
  scalar(x: number, dtype: DType): Value {
    // f16 arrays hold raw bits: keep the constant in f32 and cast, so every executor reads it alike.
    if (dtype === "f16") return this.b.op1("cast", [this.scalar(x, "f32")], { dtype: "f16" });
    const data = typedArrayFor(dtype, 1);
    if (data instanceof BigInt64Array) data[0] = BigInt(Math.trunc(x));
    else data[0] = x;
    return this.b.constant("c", data, [], dtype);
  }

  graph(outputs: readonly Value[]): Graph {
    return this.b.build(outputs);
  }
}
