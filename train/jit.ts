/**
 * `lt.compile(fn, specs)`: a pure function of named tensors, compiled, as JAX's `jit`.
 *
 *     const f = lt.compile(({ x, w }) => x.matmul(w).relu().softmax(), {
 *       x: { shape: ["batch", 4] },            // dtype defaults to f32; "batch" is symbolic
 *       w: { shape: [4, 3] },
 *     });
 *     const y = await f({ x: Tensor.random([8, 4]), w: Tensor.random([4, 3]) }); // a Tensor [8, 3]
 *
 * `fn` gets one `Tracer` per spec, under the spec's name, and returns a Tracer, an array of
 * Tracers or a record of Tracers; the compiled function takes runtime `Tensor`s under the
 * same names (in any key order) and returns Tensors in the structure `fn` returned.
 *
 * When things happen:
 * - `fn` is traced once, when `lt.compile` is called: the specs fix every input's rank and
 *   dtype, so shape errors inside `fn` are thrown there, and `.graph` is ready at once.
 * - The graph is compiled on the first call (so the function is async, as `grad`), by
 *   `compileExecutable`: the native whole-graph compiler, or the reference interpreter
 *   with `{ executor: "interpreted" }` or LATHE_TRAIN_INTERPRET=1. Concurrent first calls
 *   share one compilation.
 * - The cache is keyed by the specs, which are fixed per compiled function, so it holds at
 *   most one executable: the graph compiler keeps symbolic dims symbolic, and one compiled
 *   graph serves every size of "batch". `.compilations` counts the compilations (0 or 1).
 *   A numeric dim is static: a call with another size is a ShapeError, not a recompile —
 *   name the dim to let it vary.
 *
 * Each call checks its inputs first: a missing or unknown name is a LatheError, a wrong
 * dtype, rank or static dim (or one symbolic dim bound to two sizes) a ShapeError; each
 * names the input. Parameters `fn` reads (`lt.param`) are fed their current values on
 * every call; `lt.step()` reads 0; state updates (`lt.assign`) are rejected, as a compiled
 * function keeps no state (use `compileStep`).
 */
import { LatheError, ShapeError } from "../core/errors.ts";
import type { Graph, Value } from "../compiler/graph/graph.ts";
import type { ValueSpec } from "../core/tensor-type.ts";
import { checkInputs } from "../runtime/signature.ts";
import type { Tensor } from "../runtime/tensor.ts";
import type { Executable, ExecOptions } from "./executable.ts";
import { compileExecutable } from "./executable.ts";
import type { InputSpec } from "./feed.ts";
import { feeder } from "./feed.ts";
import { Tracer, withTrace } from "./lt.ts";
import { traceInputs } from "./step.ts";
import type { TraceOptions } from "./trace.ts";
import { Trace } from "./trace.ts";

/** Named input specs: `{ x: { shape: ["batch", 4] }, ids: { shape: ["batch"], dtype: "i32" } }`. */
export type InputSpecs = Readonly<Record<string, InputSpec>>;

/** What a compiled `fn` may return. */
export type Outputs = Tracer | readonly Tracer[] | { readonly [name: string]: Tracer };

/** The traced inputs `fn` receives: one per spec, under its name. */
export type TracerInputs<S> = { readonly [K in keyof S]: Tracer };

/** The runtime inputs a call takes: every spec's name, no other. */
export type TensorInputs<S> = { readonly [K in keyof S]: Tensor };

/** `fn`'s outputs as runtime tensors, in the structure `fn` returned (a Tensor, a tuple/array, a record). */
export type Realized<O> = O extends Tracer ? Tensor : { -readonly [K in keyof O]: Tensor };

export type JitOptions = TraceOptions & ExecOptions;

export interface CompiledFunction<S, O> {
  /** Checks the inputs, compiles on the first call, runs. */
  (inputs: TensorInputs<S>): Promise<Realized<O>>;
  /** The traced graph (before dead-code elimination): one input per spec, then parameters. */
  readonly graph: Graph;
  /** Input names in spec order. */
  readonly inputNames: readonly string[];
  /** How many times the graph has been compiled (0 before the first call, then 1). */
  readonly compilations: number;
}

/** Whether `x` is a plain record (not a Tracer, an array, a Tensor or another class's instance). */
const isRecord = (x: unknown): x is Record<string, unknown> => {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return false;
  const proto: unknown = Object.getPrototypeOf(x);
  return proto === Object.prototype || proto === null;
};

const what = (x: unknown): string =>
  x === null ? "null" : Array.isArray(x) ? "an array" : typeof x === "object" ? `a ${(x as object).constructor?.name ?? "object"}` : `a ${typeof x}`;

interface Flat {
  readonly values: Value[];
  readonly rebuild: (ts: readonly Tensor[]) => unknown;
}

/** `fn`'s result as a list of graph outputs, and how to put runtime tensors back into its structure. */
function flatten(out: unknown, t: Trace, label: string): Flat {
  const value = (x: unknown, where: string): Value => {
    if (!(x instanceof Tracer)) throw new LatheError(`${label}: ${where} is ${what(x)}, not a traced value`);
    if (x.trace !== t) throw new LatheError(`${label}: ${where} (${x.value.name}) belongs to another trace, not to fn's inputs`);
    return x.value;
  };
  if (out instanceof Tracer) return { values: [value(out, "the result")], rebuild: (ts) => ts[0] };
  let keys: string[], items: unknown[], rebuild: Flat["rebuild"];
  if (Array.isArray(out)) {
    keys = out.map((_, k) => `output [${k}]`);
    items = out;
    rebuild = (ts) => [...ts];
  } else if (isRecord(out)) {
    const names = Object.keys(out);
    keys = names.map((k) => `output "${k}"`);
    items = names.map((k) => out[k]);
    rebuild = (ts) => Object.fromEntries(names.map((k, i) => [k, ts[i]]));
  } else {
    throw new LatheError(`${label}: fn must return a Tracer, an array of Tracers or a record of Tracers, got ${what(out)}`);
  }
  if (items.length === 0) throw new LatheError(`${label}: fn returned no outputs`);
  return { values: items.map((x, k) => value(x, keys[k]!)), rebuild };
}

/**
 * Traces `fn` on inputs named and shaped by `specs` and returns it as an async function of
 * runtime tensors, compiled on its first call (see the module comment). Reachable as `lt.compile`.
 */
export function jit<S extends InputSpecs, const O extends Outputs>(
  fn: (inputs: TracerInputs<S>) => O,
  specs: S,
  opts: JitOptions = {},
): CompiledFunction<S, O> {
  const label = fn.name ? `lt.compile(${fn.name})` : "lt.compile";
  if (!isRecord(specs)) throw new LatheError(`${label}: the input specs must be a record of { shape, dtype? }, got ${what(specs)}`);
  const names = Object.keys(specs);
  const signature: ValueSpec[] = names.map((name) => {
    const s = specs[name];
    if (!s || !Array.isArray(s.shape)) throw new LatheError(`${label}: input ${name}: the spec must have a shape (an array of sizes and symbolic names)`);
    return { name, type: { shape: s.shape, dtype: s.dtype ?? "f32" } };
  });

  const t = new Trace(opts);
  const inputs = traceInputs(t, specs);
  const { values, rebuild } = flatten(withTrace(t, () => fn(inputs as TracerInputs<S>)), t, label);
  if (t.updates.size > 0) {
    const ps = [...t.updates.keys()].map((p) => p.name).join(", ");
    throw new LatheError(`${label}: fn assigns the state parameter(s) ${ps}; a compiled function keeps no state (use compileStep)`);
  }
  const graph = t.graph(values);
  const feed = feeder(graph, t);

  const check = (args: unknown): void => {
    if (!isRecord(args)) throw new LatheError(`${label}: expected a record of tensors { ${names.join(", ")} }, got ${what(args)}`);
    const missing = names.filter((n) => !Object.hasOwn(args, n));
    if (missing.length > 0) throw new LatheError(`${label}: missing input ${missing.join(", ")} (inputs: ${names.join(", ")})`);
    const extra = Object.keys(args).filter((k) => !Object.hasOwn(specs, k));
    if (extra.length > 0) throw new LatheError(`${label}: unknown input ${extra.join(", ")} (inputs: ${names.join(", ")})`);
    try {
      checkInputs(signature, names.map((n) => args[n] as Tensor));
    } catch (e) {
      if (e instanceof ShapeError) throw new ShapeError(`${label}: ${e.message}`);
      throw e;
    }
  };

  let exe: Promise<Executable> | null = null;
  let compilations = 0;
  const call = async (args: TensorInputs<S>): Promise<Realized<O>> => {
    check(args);
    if (!exe) {
      compilations++;
      exe = compileExecutable(graph, opts);
    }
    const outs = (await exe).run(feed(args as Readonly<Record<string, Tensor>>, 0));
    return rebuild(outs) as Realized<O>;
  };
  // defineProperties, not Object.assign: `compilations` must stay a live getter.
  return Object.defineProperties(call, {
    graph: { value: graph },
    inputNames: { value: names },
    compilations: { get: () => compilations },
  }) as CompiledFunction<S, O>;
}
