/**
 * Differential runs: a fuzz case compiled by a target configuration against the reference
 * interpreter (compiler/graph/interpret.ts), with a stated tolerance policy, and pass
 * bisection for a case that differs.
 *
 * Tolerance policy (docs/fuzzing.md): integer and boolean results are compared exactly. A
 * float result r against the interpreter's value e passes when
 *   |r − e| ≤ RTOL·|e| + ATOL·max(1, max|e|)
 * with RTOL = 1e-3 and ATOL = 1e-4: the interpreter computes each node in f64 and rounds
 * its stores to f32, while kernels keep f32 accumulators and may reassociate sums and fuse
 * multiply-adds, so errors scale with the output's magnitude rather than each element's.
 * NaN equals NaN and ±∞ must match exactly.
 */
import type { DType } from "../../core/dtype.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import type { GraphPass } from "../../compiler/graph/passes/pass.ts";
import { extractTasks, taskSpec } from "../../compiler/autotune/task.ts";
import type { CompileGraphOptions } from "../../compiler/targets/cpu/graph.ts";
import { compileGraphsSettled, cpuGraphLowering, levelRewriteStages } from "../../compiler/targets/cpu/graph.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import { hostVectorBytes } from "../../compiler/targets/cpu/host.ts";
import { cpuTarget } from "../../compiler/targets/cpu/index.ts";
import { scheduleGroup } from "../../compiler/targets/cpu/lower-group.ts";
import { fusionGroups, singletonGroups } from "../../compiler/graph/passes/fuse.ts";
import { SizeVars } from "../../compiler/graph/te-bridge.ts";
import type { Divergence, PassStep } from "../../compiler/tir/evaluate.ts";
import { evaluateAfterEachPass, firstDivergence, lowerAndEvaluateAfterEachPass } from "../../compiler/tir/evaluate.ts";
import { lowerSchedule } from "../../compiler/tir/lower.ts";
import { launchOf } from "../../compiler/tir/passes/gpu-launch.ts";
import { createSchedule } from "../../compiler/schedule/schedule.ts";
import { groupTensors } from "../../compiler/lower/group.ts";
import type { FusionGroup } from "../../compiler/graph/passes/fuse.ts";
import { webgpuTarget } from "../../compiler/targets/webgpu/index.ts";
import { GEMM_OPS, lowerGroupGpu } from "../../compiler/targets/webgpu/lower-group.ts";
import { DEFAULT_GPU_CONFIG, gpuDefaultSchedule } from "../../compiler/targets/webgpu/schedules.ts";
import type { TunedConfigs } from "../../compiler/targets/cpu/schedules/templates.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { BuildError, LatheError } from "../../core/errors.ts";
import { compileGraphWebGpu } from "../../compiler/targets/webgpu/graph.ts";
import type { FuzzCase } from "./graph-gen.ts";

export const RTOL = 1e-3;
export const ATOL = 1e-4;

/** A cpu configuration the fuzzer compares: fusion, layout and conv lowering choices, optionally random tuned configs. */
export interface Variant {
  readonly name: string;
  /** Which target compiles it (default cpu); webgpu runs on Dawn (SwiftShader without a GPU). */
  readonly target?: "cpu" | "webgpu";
  /** cpu options; for webgpu only `fuse` is read. */
  readonly opts: CompileGraphOptions;
  /** Draw a random valid config from each task's template space (seeded per case). */
  readonly randomTuning?: boolean;
  /**
   * Graph passes run before the target's own (a pass under test): the fuzzer checks them
   * like the target's rewrites, and bisection names them.
   */
  readonly passes?: readonly GraphPass[];
}

export const CPU_VARIANTS: readonly Variant[] = [
  { name: "cpu", opts: {} },
  { name: "cpu-unfused", opts: { fuse: false } },
  { name: "cpu-nchwc", opts: { layout: "nchwc" } },
  { name: "cpu-direct-conv", opts: { layout: "nchw", convToGemm: false } },
  { name: "cpu-tuned", opts: {}, randomTuning: true },
];

export const WEBGPU_VARIANTS: readonly Variant[] = [
  { name: "webgpu", target: "webgpu", opts: {} },
  { name: "webgpu-unfused", target: "webgpu", opts: { fuse: false } },
];

export type Outcome =
  | { readonly ok: true; /** Why the target did not compile the case (a limitation it names, not a failure). */ readonly unsupported?: string }
  | { readonly ok: false; readonly stage: "compile" | "run" | "compare"; readonly detail: string };

type Result = { readonly data: ArrayLike<number>; readonly shape: readonly number[] };

/** The first element outside the tolerance (or a shape difference), described; null when all agree. */
export interface Tolerance { readonly rtol: number; readonly atol: number }
export const CPU_TOLERANCE: Tolerance = { rtol: RTOL, atol: ATOL };
/**
 * WGSL lets sin and cos be off by 2^-11 absolute in [−π, π] and gives exp, log, tanh and pow
 * error bounds of several ULP growing with |x| (WGSL §"Floating point accuracy"); SwiftShader
 * uses that freedom. A normalisation after such an op (layer norm over 5 elements) scales the
 * error up, so webgpu's absolute part is 4·2^-11.
 */
export const WEBGPU_TOLERANCE: Tolerance = { rtol: RTOL, atol: 4 * 2 ** -11 };

export function compareResults(got: readonly Result[], want: readonly Result[], dtypes: readonly DType[], tol: Tolerance = CPU_TOLERANCE): string | null {
  if (got.length !== want.length) return `${got.length} outputs, the interpreter has ${want.length}`;
  for (let o = 0; o < want.length; o++) {
    const g = got[o]!, w = want[o]!;
    if (g.shape.join(",") !== w.shape.join(",")) return `output ${o}: shape [${g.shape.join(", ")}], the interpreter's is [${w.shape.join(", ")}]`;
    const exact = dtypes[o] !== "f32" && dtypes[o] !== "f64" && dtypes[o] !== "f16";
    let scale = 1;
    for (let i = 0; i < w.data.length; i++) if (Number.isFinite(w.data[i]!)) scale = Math.max(scale, Math.abs(w.data[i]!));
    for (let i = 0; i < w.data.length; i++) {
      const a = Number(g.data[i]), e = Number(w.data[i]);
      if (Number.isNaN(a) && Number.isNaN(e)) continue;
      const bound = tol.rtol * Math.abs(e) + tol.atol * scale;
      const ok = exact || !Number.isFinite(e) || !Number.isFinite(a) ? a === e : Math.abs(a - e) <= bound;
      if (!ok) return `output ${o}[${i}]: ${a}, the interpreter gives ${e} (${exact ? "exact" : `tolerance ${bound.toExponential(2)}`})`;
    }
  }
  return null;
}

export const inputTensors = (c: FuzzCase): Tensor[] =>
  c.inputs.map((x) => Tensor.fromArray(x.data, x.shape, x.dtype));

export const reference = (g: Graph, c: FuzzCase): Result[] => interpret(g, c.inputs).outputs;

/** Random valid tuned configs for the graph's tasks as the cpu target lowers it (seeded). */
export function randomTuning(g: Graph, seed: number, opts: CompileGraphOptions = {}): TunedConfigs {
  const rng = new Rng(seed ^ 0x7e57);
  const tuned = new Map<string, ReturnType<NonNullable<ReturnType<typeof taskTemplate>>["space"]["get"]>>();
  for (const t of extractTasks(cpuGraphLowering(g, opts)).map(taskSpec)) {
    const tpl = taskTemplate(t);
    if (tpl) tuned.set(t.key, tpl.space.get(rng.int(0, tpl.space.size)));
  }
  return tuned;
}

/** The case's graph after the variant's passes under test (what the target compiles). */
const prepared = (c: FuzzCase, variant: Variant): Graph => (variant.passes ?? []).reduce((g, p) => p.run(g), c.graph);

/** Compiles every case with the variant (batched into shared libraries) and compares each with the interpreter. */
export async function runVariant(cases: readonly FuzzCase[], variant: Variant, jobs?: number): Promise<Outcome[]> {
  const wants = cases.map((c) => reference(c.graph, c));
  const out: Outcome[] = new Array(cases.length);
  const graphs: (Graph | null)[] = cases.map((c, i) => {
    try {
      return prepared(c, variant);
    } catch (e) {
      out[i] = { ok: false, stage: "compile", detail: `a pass under test failed: ${(e as Error).message.split("\n")[0]}` };
      return null;
    }
  });
  const todo = cases.map((_, i) => i).filter((i) => graphs[i] !== null);
  if (variant.target === "webgpu") {
    for (const i of todo) out[i] = await runWebGpu(graphs[i]!, cases[i]!, wants[i]!, variant.opts.fuse !== false);
    return out;
  }
  const withJobs = (o: CompileGraphOptions): CompileGraphOptions => (jobs ? { ...o, jobs } : o);
  // Random configs: one map for the batch (a task two cases share gets one case's draw; every draw is valid).
  const tuned = variant.randomTuning ? new Map(todo.flatMap((i) => [...randomTuning(graphs[i]!, cases[i]!.seed, variant.opts)])) : undefined;
  const results = await compileGraphsSettled(todo.map((i) => graphs[i]!), withJobs(tuned ? { ...variant.opts, tuned } : variant.opts));
  results.forEach((r, k) => (out[todo[k]!] = check(r, cases[todo[k]!]!, wants[todo[k]!]!)));
  return out;
}

function check(r: Awaited<ReturnType<typeof compileGraphsSettled>>[number], c: FuzzCase, want: readonly Result[]): Outcome {
  if (!r.ok) return { ok: false, stage: "compile", detail: r.error.message.split("\n")[0]! };
  let got: Tensor[];
  try {
    got = r.compiled.run(inputTensors(c));
  } catch (e) {
    return { ok: false, stage: "run", detail: (e as Error).message.split("\n")[0]! };
  }
  const diff = compareResults(got.map((t) => ({ data: t.data as ArrayLike<number>, shape: t.shape })), want, c.graph.outputs.map((v) => v.type.dtype));
  return diff === null ? { ok: true } : { ok: false, stage: "compare", detail: diff };
}

/**
 * One case on Dawn. A graph the webgpu target refuses (a dtype or op it has no WGSL for, named
 * in one BuildError) is "unsupported", not a failure: the fuzzer compares what it compiles.
 */
async function runWebGpu(g: Graph, c: FuzzCase, want: readonly Result[], fuse: boolean): Promise<Outcome> {
  let compiled: Awaited<ReturnType<typeof compileGraphWebGpu>>;
  try {
    compiled = await compileGraphWebGpu(g, { fuse });
  } catch (e) {
    if (e instanceof BuildError && /^webgpu cannot compile/.test(e.message)) return { ok: true, unsupported: e.message.split("\n")[0]! };
    return { ok: false, stage: "compile", detail: (e as Error).message.split("\n")[0]! };
  }
  let got: Tensor[];
  try {
    got = await compiled.run(inputTensors(c));
  } catch (e) {
    return { ok: false, stage: "run", detail: (e as Error).message.split("\n")[0]! };
  }
  const diff = compareResults(got.map((t) => ({ data: t.data as ArrayLike<number>, shape: t.shape })), want, c.graph.outputs.map((v) => v.type.dtype), WEBGPU_TOLERANCE);
  return diff === null ? { ok: true } : { ok: false, stage: "compare", detail: diff };
}

/** One variant on one case (the property fast-check shrinks with). */
export async function runOne(c: FuzzCase, variant: Variant): Promise<Outcome> {
  return (await runVariant([c], variant, 1))[0]!;
}

/**
 * Names the first rewrite after which the case's results differ from the original graph's,
 * by interpreting the graph after each of the variant's graph rewrites; when every rewritten
 * graph still agrees, the difference arose later — in fusion (the unfused variant agrees),
 * or in the loop IR, the schedules or code generation.
 */
export async function bisect(c: FuzzCase, variant: Variant): Promise<string> {
  const want = reference(c.graph, c);
  const dtypes = c.graph.outputs.map((v) => v.type.dtype);
  const stages: { pass: string; graph: Graph }[] = [];
  let g = c.graph;
  for (const p of variant.passes ?? []) {
    try {
      g = p.run(g);
    } catch (e) {
      return `graph pass ${p.name}: it throws (${(e as Error).message.split("\n")[0]})`;
    }
    stages.push({ pass: p.name, graph: g });
  }
  if (variant.target !== "webgpu") stages.push(...levelRewriteStages(g, variant.opts));
  for (const { pass, graph } of stages) {
    let diff: string | null;
    try {
      diff = compareResults(reference(graph, c), want, dtypes);
    } catch (e) {
      return `graph pass ${pass}: the rewritten graph no longer interprets (${(e as Error).message.split("\n")[0]})`;
    }
    if (diff !== null) return `graph pass ${pass}: ${diff}`;
  }
  if (variant.target === "webgpu") {
    const kernel = webgpuLoopIrDivergence(stages.at(-1)?.graph ?? c.graph, c, variant.opts.fuse === false);
    if (kernel) return kernel;
    const unfusedAgrees = variant.opts.fuse !== false && (await runOne(c, { ...variant, opts: { ...variant.opts, fuse: false } })).ok;
    return `code generation (WGSL): the interpreter agrees after every graph rewrite and every kernel's loop IR evaluates to the interpreter's values after every webgpu loop-IR pass, serially and in lock step; the WGSL printed from it (or Dawn's compilation of it) does not${unfusedAgrees ? " (the unfused build agrees)" : ""}`;
  }
  const lowered = stages.at(-1)?.graph ?? c.graph;
  const tuned = variant.randomTuning ? randomTuning(prepared(c, variant), c.seed, variant.opts) : undefined;
  const kernel = loopIrDivergence(lowered, c, variant.opts.fuse === false, tuned);
  if (kernel) return kernel;
  return "code generation: the interpreter agrees after every graph rewrite and every kernel's loop IR evaluates to the interpreter's values after every loop-IR pass; the C++ printed from it (or its build) does not";
}

/**
 * Evaluates each fused group's kernel after lowering and after every cpu loop-IR pass
 * (compiler/tir/evaluate.ts), its inputs the interpreter's values of the group's inputs,
 * and names the first kernel and pass whose outputs leave the interpreter's.
 */
function loopIrDivergence(g: Graph, c: FuzzCase, unfused: boolean, tuned: TunedConfigs | undefined): string | null {
  const values = interpret(g, c.inputs).values;
  const groups = unfused ? singletonGroups(g) : fusionGroups(g);
  for (const group of groups) {
    const { schedule, inputs, outputs } = scheduleGroup(group, new SizeVars(), hostVectorBytes(), tuned);
    const buffers = new Map(group.inputs.map((v, k) => [inputs[k]!.name, values.get(v)!.data] as const));
    const ref = new Map(group.outputs.map((v, k) => [outputs[k]!.name, values.get(v)!.data] as const));
    let scale = 1;
    for (const d of ref.values()) for (const x of d) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
    const steps = lowerAndEvaluateAfterEachPass(schedule, [...inputs, ...outputs], cpuTarget.passes, buffers);
    const d = firstDivergence(steps, ref, { rtol: RTOL, atol: ATOL * scale });
    if (d) {
      const where = d.pass === "lower" ? "lowering to loop IR" : `loop-IR pass ${d.pass} (#${d.index})`;
      const what = d.error ? d.error.message : `${d.output}[${d.element}]: ${d.actual}, the interpreter gives ${d.expected}`;
      return `${where}, kernel of ${group.nodes.map((n) => n.op).join("+")}: ${what}`;
    }
  }
  return null;
}

const describeDivergence = (d: Divergence, kernel: string, lockstep: boolean): string => {
  const where = d.pass === "lower" ? "lowering to loop IR" : `loop-IR pass ${d.pass} (#${d.index})`;
  const what = d.error ? d.error.message : `${d.output}[${d.element}]: ${d.actual}, the interpreter gives ${d.expected}`;
  return `${where}${lockstep ? " in lock step" : ""}, kernel ${kernel}: ${what}`;
};

/**
 * The webgpu counterpart of loopIrDivergence: each kernel compileGraphWebGpu would build (a
 * fused group, or its nodes one by one where the GPU schedules refuse the group) is lowered
 * with the GPU default schedule and evaluated after lowering and after each of the webgpu
 * target's loop-IR passes (webgpuTarget.passes, read at call time), fed the interpreter's
 * values of its inputs. Serially (the loop IR's sequential meaning) at every step; in lock
 * step (compiler/tir/evaluate.ts: one run of the body per GPU thread, barriers honoured)
 * at every step for a kernel without shared memory, and from thread-sync on for one with
 * shared memory (before thread-sync puts its barriers in, threads race by construction).
 * The earliest step that leaves the interpreter's values is named, serial first on a tie.
 */
function webgpuLoopIrDivergence(g: Graph, c: FuzzCase, unfused: boolean): string | null {
  const values = interpret(g, c.inputs).values;
  const passes = webgpuTarget.passes;
  const sizes = new SizeVars();
  const singles = singletonGroups(g);
  // The kernels as compileGraphWebGpu splits them (a group it cannot lower whole goes node by node).
  const kernels: FusionGroup[] = [];
  for (const grp of unfused ? singles : fusionGroups(g)) {
    if (grp.nodes.length > 1) {
      try {
        lowerGroupGpu(grp, "probe", sizes, DEFAULT_GPU_CONFIG);
      } catch (e) {
        if (!(e instanceof LatheError)) throw e;
        kernels.push(...grp.nodes.map((n) => singles.find((s) => s.nodes[0] === n)!));
        continue;
      }
    }
    kernels.push(grp);
  }
  const syncAt = passes.findIndex((p) => p.name === "thread-sync") + 1;
  for (const [k, group] of kernels.entries()) {
    const name = `k${k}_${(group.anchor ?? group.nodes[0]!).op}`;
    const { inputs, outputs, anchor } = groupTensors(group, sizes);
    const s = createSchedule(outputs);
    gpuDefaultSchedule(s, outputs, group.anchor && GEMM_OPS.has(group.anchor.op) ? anchor : null, DEFAULT_GPU_CONFIG);
    const buffers = new Map(group.inputs.map((v, i) => [inputs[i]!.name, values.get(v)!.data] as const));
    const ref = new Map(group.outputs.map((v, i) => [outputs[i]!.name, values.get(v)!.data] as const));
    let scale = 1;
    for (const d of ref.values()) for (const x of d) if (Number.isFinite(x)) scale = Math.max(scale, Math.abs(x));
    const tol = { rtol: RTOL, atol: ATOL * scale };
    const label = `${name} (${group.nodes.map((n) => n.op).join("+")})`;
    const serial = evaluateAfterEachPass(lowerSchedule(s, [...inputs, ...outputs], name), passes, buffers);
    const from = launchOf(serial[0]!.func).shared.length === 0 ? 0 : syncAt > 0 ? syncAt : serial.length;
    const lockstep: PassStep[] = serial.slice(from).map((st) => ({ ...evaluateAfterEachPass(st.func, [], buffers, { threads: "lockstep" })[0]!, pass: st.pass, index: st.index }));
    const ds = firstDivergence(serial, ref, tol), dl = firstDivergence(lockstep, ref, tol);
    if (ds && (!dl || ds.index <= dl.index)) return describeDivergence(ds, label, false);
    if (dl) return describeDivergence(dl, label, true);
  }
  return null;
}
