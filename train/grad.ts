/**
 * `grad(fn)`: the gradient of a scalar function of tensors, as in JAX. `fn` is traced
 * with one input per argument (shapes and dtypes of the call), differentiated by the
 * autodiff pass and compiled; the executable is cached per argument shapes. Parameters
 * `fn` reads are fed from their current values and treated as constants.
 */
import type { Graph } from "../compiler/graph/graph.ts";
import { autodiff } from "../compiler/graph/passes/autodiff.ts";
import type { Tensor } from "../runtime/tensor.ts";
import type { Executable, ExecOptions } from "./executable.ts";
import { compileExecutable } from "./executable.ts";
import type { Batch } from "./feed.ts";
import { feeder } from "./feed.ts";
import type { Tracer } from "./lt.ts";
import { withTrace } from "./lt.ts";
import { checkLoss, traceInputs } from "./step.ts";
import type { TraceOptions } from "./trace.ts";
import { Trace } from "./trace.ts";

export interface GradResult {
  readonly value: number;
  /** d fn / d args[k], each shaped as args[k] (zeros for integer arguments). */
  readonly grads: Tensor[];
}

/** `valueAndGrad(fn)(...args)`: fn's value and its gradients with respect to every argument. */
export function valueAndGrad(fn: (...xs: Tracer[]) => Tracer, opts: TraceOptions & ExecOptions = {}): (...args: Tensor[]) => Promise<GradResult> {
  const cache = new Map<string, Promise<{ exe: Executable; feed: (b: Batch, step: number) => Tensor[]; graph: Graph }>>();
  const build = async (args: readonly Tensor[]) => {
    const t = new Trace(opts);
    const names = args.map((_, k) => `arg${k}`);
    const inputs = traceInputs(t, Object.fromEntries(args.map((a, k) => [names[k]!, { shape: a.shape, dtype: a.dtype }])));
    const loss = checkLoss(t, withTrace(t, () => fn(...names.map((n) => inputs[n]!))), "grad");
    const { graph } = autodiff(t.graph([loss.value]), loss.value, names.map((n) => inputs[n]!.value));
    return { exe: await compileExecutable(graph, opts), feed: feeder(graph, t), graph };
  };
  return async (...args) => {
    const key = args.map((a) => `${a.dtype}[${a.shape.join(",")}]`).join(";");
    let entry = cache.get(key);
    if (!entry) { entry = build(args); cache.set(key, entry); }
    const { exe, feed } = await entry;
    const outs = exe.run(feed(Object.fromEntries(args.map((a, k) => [`arg${k}`, a])), 0));
    return { value: outs[0]!.toArray()[0]!, grads: outs.slice(1) };
  };
}

/** `grad(fn)(...args)`: the gradients of scalar `fn` with respect to every argument. */
export function grad(fn: (...xs: Tracer[]) => Tracer, opts: TraceOptions & ExecOptions = {}): (...args: Tensor[]) => Promise<Tensor[]> {
  const vg = valueAndGrad(fn, opts);
  return async (...args) => (await vg(...args)).grads;
}
