/**
 * Compiling a training step: forward, backward (the autodiff pass) and the optimizer's
 * update, as one graph run by one executable. Parameters, state parameters and
 * optimizer slots live in runtime tensors between steps: each step feeds their current
 * values and keeps the new ones the graph returns.
 *
 * Step graph inputs: the batch, parameters, the step counter, the learning rate and the
 * optimizer slots (in the order they were traced); outputs: the loss, the updated
 * trainable parameters, the new values of assigned state parameters, the new slots.
 */
import { LatheError, ShapeError } from "../core/errors.ts";
import type { Graph, Value } from "../compiler/graph/graph.ts";
import { autodiff } from "../compiler/graph/passes/autodiff.ts";
import { showType } from "../compiler/graph/types.ts";
import { Tensor } from "../runtime/tensor.ts";
import type { ExecOptions } from "./executable.ts";
import { compileExecutable } from "./executable.ts";
import type { Batch, InputSpec } from "./feed.ts";
import { feeder } from "./feed.ts";
import { Tracer, withTrace } from "./lt.ts";
import type { Layer } from "./nn/module.ts";
import { applyLayer } from "./nn/module.ts";
import type { Optimizer } from "./optim/optimizer.ts";
import type { Parameter } from "./parameter.ts";
import { Trace } from "./trace.ts";

export interface StepFunction {
  /** Runs one step on `batch` (tensors by input name) and returns the loss before the update. */
  (batch: Batch): number;
  readonly graph: Graph;
  /** The trainable parameters the step updates, in graph order. */
  readonly parameters: readonly Parameter[];
  /** Steps run so far. */
  readonly steps: number;
  /** The optimizer's slots for `p`, in `optimizer.slots` order. */
  optimizerState(p: Parameter): readonly Tensor[];
}

/** Traces data inputs for `specs` into `t`. */
export function traceInputs(t: Trace, specs: Readonly<Record<string, InputSpec>>): Record<string, Tracer> {
  return Object.fromEntries(Object.entries(specs).map(([name, s]) => [name, new Tracer(t, t.input(name, s.shape, s.dtype ?? "f32"))]));
}

/** Checks that `fn` returned a scalar float of trace `t`. */
export function checkLoss(t: Trace, loss: unknown, what: string): Tracer {
  if (!(loss instanceof Tracer) || loss.trace !== t) throw new LatheError(`${what}: the loss function must return a traced value of its inputs`);
  if (loss.rank !== 0) throw new ShapeError(`${what}: the loss ${loss.value.name} must be a scalar, got ${showType(loss.value.type)}`);
  return loss;
}

/** Where a step graph's input comes from, besides the trace's own sources (data, parameters, step counter). */
export type StepExtra = { readonly kind: "lr" } | { readonly kind: "slot"; readonly param: Parameter; readonly index: number };

/**
 * The graph of one training step — forward, backward, update — and the roles of its
 * inputs and outputs; shared by the compiled step below and device-resident steps
 * (train/step-webgpu.ts). Outputs: the loss, the updated trainable
 * parameters, the new values of assigned state parameters, the new slots (per parameter,
 * in `optimizer.slots` order).
 */
export interface StepGraph {
  readonly graph: Graph;
  readonly trace: Trace;
  readonly params: readonly Parameter[];
  readonly assigned: readonly Parameter[];
  /** Inputs fed from outside the trace: the learning rate and the optimizer slots. */
  readonly extra: ReadonlyMap<Value, StepExtra>;
}

export function buildStepGraph(
  lossFn: (inputs: Record<string, Tracer>) => Tracer,
  optimizer: Optimizer,
  inputs: Readonly<Record<string, InputSpec>>,
): StepGraph {
  const fwd = new Trace({ training: true });
  const loss = checkLoss(fwd, withTrace(fwd, () => lossFn(traceInputs(fwd, inputs))), "compileStep");
  const params = [...fwd.params.keys()].filter((p) => p.trainable);
  if (params.length === 0) throw new LatheError("compileStep: the loss reads no trainable parameter");
  const assigned = [...fwd.updates];
  const { graph: withGrads, grads } = autodiff(fwd.graph([loss.value, ...assigned.map(([, v]) => v)]), loss.value, params.map((p) => fwd.params.get(p)!));

  // The update, appended with Tracer ops; slots and the learning rate become inputs fed from outside.
  const t = Trace.extend(fwd, withGrads);
  const extra = new Map<Value, StepExtra>();
  const lrIn = t.b.input("lr", [], "f32");
  extra.set(lrIn, { kind: "lr" });
  const { newParams, newSlots } = withTrace(t, () => {
    const lr32 = new Tracer(t, lrIn);
    // Built on first use, so optimizers that ignore t leave no dead nodes (or a step input) behind.
    let t32: Tracer | null = null;
    const count = (): Tracer => (t32 ??= new Tracer(t, t.step()).cast("f32").add(1));
    const newParams: Value[] = [], newSlots: Value[] = [];
    params.forEach((p, k) => {
      const state = optimizer.slots.map((s, j) => {
        const v = t.b.input(`${p.name}.${s}`, p.shape, p.dtype);
        extra.set(v, { kind: "slot", param: p, index: j });
        return new Tracer(t, v);
      });
      const ctx = { lr: lr32.cast(p.dtype), get t() { return count().cast(p.dtype); } };
      const out = optimizer.update(ctx, new Tracer(t, t.params.get(p)!), new Tracer(t, grads[k]!), state);
      if (out.state.length !== optimizer.slots.length) throw new LatheError(`optimizer returned ${out.state.length} slots, declared ${optimizer.slots.length}`);
      newParams.push(out.param.value);
      newSlots.push(...out.state.map((s) => s.value));
    });
    return { newParams, newSlots };
  });
  const graph = t.graph([loss.value, ...newParams, ...assigned.map(([, v]) => v), ...newSlots]);
  return { graph, trace: t, params, assigned: assigned.map(([p]) => p), extra };
}

/** A step for any scalar loss of the named inputs. */
export async function compileLossStep(
  lossFn: (inputs: Record<string, Tracer>) => Tracer,
  optimizer: Optimizer,
  inputs: Readonly<Record<string, InputSpec>>,
  opts: ExecOptions = {},
): Promise<StepFunction> {
  const { graph, trace, params, assigned, extra: roles } = buildStepGraph(lossFn, optimizer, inputs);
  const slots = new Map<Parameter, Tensor[]>(params.map((p) => [p, optimizer.slots.map(() => Tensor.zeros(p.shape, p.dtype))]));
  const extra = new Map<Value, () => Tensor>();
  for (const [v, r] of roles) {
    extra.set(v, r.kind === "lr" ? () => Tensor.fromArray([optimizer.lr], [], "f32") : () => slots.get(r.param)![r.index]!);
  }
  const exe = await compileExecutable(graph, opts);
  const feed = feeder(graph, trace, extra);

  let steps = 0;
  const step = (batch: Batch): number => {
    const outs = exe.run(feed(batch, steps));
    let k = 1;
    for (const p of params) p.value = outs[k++]!;
    for (const p of assigned) p.value = outs[k++]!;
    for (const p of params) slots.set(p, optimizer.slots.map(() => outs[k++]!));
    steps++;
    return outs[0]!.toArray()[0]!;
  };
  // defineProperties, not Object.assign: `steps` must stay a live getter.
  return Object.defineProperties(step, {
    graph: { value: graph },
    parameters: { value: params },
    steps: { get: () => steps },
    optimizerState: { value: (p: Parameter) => slots.get(p) ?? [] },
  }) as StepFunction;
}

/**
 * A step for `loss(model(batch.x), batch.y)`: the common supervised case.
 * `inputs` gives the shapes and dtypes of x and y (dims may be symbolic).
 */
export function compileStep(
  model: Layer,
  loss: (out: Tracer, target: Tracer) => Tracer,
  optimizer: Optimizer,
  inputs: { readonly x: InputSpec; readonly y: InputSpec },
  opts: ExecOptions = {},
): Promise<StepFunction> {
  return compileLossStep(({ x, y }) => loss(applyLayer(model, x!), y!), optimizer, inputs, opts);
}

/** The model's inference form (`training` false) as a function of runtime tensors; reads parameters' current values. */
export async function compileForward(model: Layer, input: InputSpec, opts: ExecOptions = {}): Promise<(x: Tensor) => Tensor> {
  const t = new Trace({ training: false });
  const out = withTrace(t, () => applyLayer(model, traceInputs(t, { x: input }).x!));
  const graph = t.graph([out.value]);
  const exe = await compileExecutable(graph, opts);
  const feed = feeder(graph, t);
  return (x) => exe.run(feed({ x }, 0))[0]!;
}
