/**
 * Compiles whole graphs into native libraries (an ahead-of-time executor): fuse, lower
 * each fused group with its default schedule, plan memory, print every kernel and the
 * entry point into one C++ translation unit, build it through the content-hashed cache.
 * Compiling the same graph twice hits the cache.
 *
 * Several graphs can share one library (compileGraphs): their kernels and entry points
 * get per-graph names, so a thousand small test models cost a few dozen g++ runs rather
 * than a thousand. A graph that fails to lower, or whose C++ fails to build, fails
 * alone (compileGraphsSettled).
 */
import os from "node:os";
import { BuildError } from "../../../core/errors.ts";
import { printCppModule } from "../../codegen/cpp/print.ts";
import { GRAPH_ENTRY, printGraphEntry } from "./graph-entry.ts";
import { compileShared, targetFlags } from "./toolchain.ts";
import { hostVectorBytes } from "./host.ts";
import { NativeLibrary } from "../../../runtime/native.ts";
import type { NativeKernel } from "../../../runtime/native.ts";
import { checkInputs, checkOutputs, concreteShapes } from "../../../runtime/signature.ts";
import { Tensor } from "../../../runtime/tensor.ts";
import type { Graph } from "../../graph/graph.ts";
import type { FusionGroup } from "../../graph/passes/fuse.ts";
import { fusionGroups, singletonGroups } from "../../graph/passes/fuse.ts";
import type { LoweredGroup } from "../../lower/group.ts";
import { lowerGroup, type TunedConfigs } from "./lower-group.ts";
import { convToGemm } from "../../graph/passes/conv-to-gemm.ts";
import { alterLayout, blockedLayoutPays } from "../../graph/passes/layout.ts";
import { makeExecPlan } from "../../lower/exec-plan.ts";
import type { ExecPlan, PlanStep } from "../../lower/exec-plan.ts";
import { isScan, mapScanBodies } from "../../graph/scan.ts";
import { pruneScanOutputs } from "../../graph/passes/dce.ts";
import { hoistScanConstants } from "../../graph/passes/hoist-scan-constants.ts";
import { SizeVars } from "../../graph/te-bridge.ts";
import { printFunc } from "../../tir/print.ts";
import type { TargetPlugin } from "../plugin.ts";
import { externalKernel, lowerGroupFor, partitionExternal, type GraphKernel } from "../byoc.ts";
import { CPU_EXTERNAL_PATTERNS } from "./extern-kernels.ts";

/** How compileGraph lays out convolutions' activations (CompileGraphOptions.layout). */
export const GRAPH_LAYOUTS = ["auto", "nchw", "nchwc"] as const;
export type GraphLayout = (typeof GRAPH_LAYOUTS)[number];

/** Options for compileGraph(s). New optional fields are welcome; every one must have a default. */
export interface CompileGraphOptions {
  /** Extra C++ flags (e.g. AddressSanitizer in tests). */
  readonly extraFlags?: readonly string[];
  /** false: one kernel per node (for measuring what fusion buys). Default true. */
  readonly fuse?: boolean;
  /** Lower static-shape, non-depthwise conv2d to im2col + GEMM (passes/conv-to-gemm.ts). Default true. */
  readonly convToGemm?: boolean;
  /**
   * "nchwc": convolutions whose channels divide by the vector width run as direct convolutions
   * in the blocked NCHW[x]c layout (passes/layout.ts; the conv template in
   * schedules/templates.ts); conv-to-gemm takes the rest. "nchw": every convolution stays NCHW.
   * "auto" (the default): nchwc when it pays (passes/layout.ts `blockedLayoutPays`); the
   * default is "nchw" for a target plugin with BYOC patterns.
   */
  readonly layout?: GraphLayout;
  /** Print each kernel's time to stderr on every run (default: LATHE_PROFILE=1). */
  readonly profile?: boolean;
  /** compileGraphs: at most this many graphs per shared library (default 64). */
  readonly batchSize?: number;
  /** compileGraphs: g++ processes run at once (default: the CPU count, at most 8). */
  readonly jobs?: number;
  /**
   * A target plugin whose codegen prints C++ with Lathe's kernel ABI (cpu and plugins
   * derived from it): its schedule hook, passes, printer, link flags and BYOC patterns
   * are used. Default: the built-in cpu path.
   */
  readonly target?: TargetPlugin;
  /** Tuned schedules: task key → config (autotune `tunedConfigs(log)`); other groups keep the default. */
  readonly tuned?: TunedConfigs;
}

export interface CompiledGraph {
  readonly graph: Graph;
  readonly groups: readonly FusionGroup[];
  readonly plan: ExecPlan;
  /** The C++ translation unit the library was built from (all graphs of its batch). */
  readonly source: string;
  readonly library: string;
  /** This graph's entry symbol in the library (lathe_graph_run, or lathe_graph_run_<k> in a batch). */
  readonly entry: string;
  /** The target plugin's name when one compiled it (absent: the built-in cpu path). */
  readonly target?: string;
  /** Every g++ flag the library was built with. */
  readonly flags: readonly string[];
  /** Runs on inputs in graph-input order; returns the outputs in graph-output order. */
  run(inputs: readonly Tensor[]): Tensor[];
  /** The same, writing into caller-owned output tensors (e.g. to keep parameters in place). */
  runInto(inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
  setNumThreads(n: number): void;
}

/** A graph lowered to loop-IR kernels and an execution plan, not yet printed or built. */
export interface LoweredGraph {
  readonly graph: Graph;
  /** Each kernel's fused group, in the kernels' order (a scan's body groups where the scan is). */
  readonly groups: readonly FusionGroup[];
  /** Every kernel of the library, scan bodies' included, in call order. */
  readonly kernels: readonly GraphKernel[];
  readonly plan: ExecPlan;
  readonly entry: string;
}

export type CompileOutcome =
  | { readonly ok: true; readonly compiled: CompiledGraph }
  | { readonly ok: false; readonly error: Error };

/**
 * Fuses and lowers one graph. `prefix` goes in front of kernel names and `suffix` after
 * the entry symbol, so that several graphs can share a library. A scan's body is fused
 * and lowered once, into kernels of its own that the entry point calls in a loop
 * (graph-entry.ts): the library does not grow with the trip count.
 */
export function lowerGraph(input: Graph, opts: CompileGraphOptions = {}, prefix = "", suffix = ""): LoweredGraph {
  // The returned graph (with its constants) is what the library runs.
  // A target plugin's BYOC patterns were written against what conv-to-gemm makes (an
  // OpenBLAS plugin offloads the GEMMs): with patterns, the default layout stays NCHW.
  const g = cpuGraphLowering(input, { ...opts, layout: opts.layout ?? (opts.target?.patterns?.length ? "nchw" : "auto") });
  const { groups, kernels, plan } = lowerLevel(g, opts, prefix, new SizeVars(), hostVectorBytes());
  // LATHE_SHOW_KERNELS=name1,name2 prints those kernels' loop IR (names as in LATHE_PROFILE).
  const show = (process.env.LATHE_SHOW_KERNELS ?? "").split(",").filter(Boolean);
  for (const k of kernels) if (show.includes(k.func.name)) process.stderr.write(`${printFunc(k.func)}\n`);
  return { graph: g, groups, kernels, plan, entry: GRAPH_ENTRY + suffix };
}


/** One level's groups, kernels and plan; a scan group's body lowered recursively into kernels of its own. */
function lowerLevel(g: Graph, opts: CompileGraphOptions, prefix: string, sizes: SizeVars, vectorBytes: number): { groups: FusionGroup[]; kernels: GraphKernel[]; plan: ExecPlan } {
  const fused = opts.fuse === false ? singletonGroups(g) : fusionGroups(g);
  const target = opts.target;
  // A target's BYOC patterns, and the cpu target's own hand-written kernels
  // (extern-kernels.ts), take chains of ops out of the fusion groups (targets/byoc.ts).
  const { groups, external } = partitionExternal(g, fused, [...CPU_EXTERNAL_PATTERNS, ...(target?.patterns ?? [])]);
  const lowerOne = (grp: FusionGroup, name: string): LoweredGroup =>
    target?.schedule ? lowerGroupFor(target, grp, name, sizes, opts.tuned) : lowerGroup(grp, name, sizes, vectorBytes, opts.tuned);
  const kernelGroups: FusionGroup[] = [], kernels: GraphKernel[] = [], steps: PlanStep[] = [];
  groups.forEach((grp, i) => {
    const scan = grp.nodes.find(isScan);
    if (scan) {
      const body = lowerLevel(scan.body, opts, `${prefix}s${i}_`, sizes, vectorBytes);
      kernelGroups.push(...body.groups);
      kernels.push(...body.kernels);
      steps.push({ kind: "scan", node: scan, body: body.plan });
      return;
    }
    const ext = external.get(grp);
    const k = ext
      ? externalKernel(ext, grp, `${prefix}ext_${i}_${ext.pattern.name}`, (name) => lowerOne(grp, name))
      : lowerOne(grp, `${prefix}fused_${i}_${(grp.anchor ?? grp.nodes[0]!).op}`);
    kernelGroups.push(grp);
    kernels.push(k);
    steps.push({ kind: "kernel", kernel: k });
  });
  return { groups: kernelGroups, kernels, plan: makeExecPlan(g, groups, steps) };
}

/**
 * The cpu target's graph rewrites before fusion (see `layout` and `convToGemm`), at every
 * level of loop nesting, bodies first (each body is a graph the rewrites see whole); then
 * the bodies' constants move up as invariants (a body reads only its operands), and stacked
 * outputs nobody reads are dropped (they would have nowhere to go). `lathe tune` extracts
 * its tasks from the same graph, so tuned task keys match what compileGraph builds, scan
 * bodies' included.
 */
export function cpuGraphLowering(g: Graph, opts: Pick<CompileGraphOptions, "layout" | "convToGemm"> = {}): Graph {
  const inner = mapScanBodies(pruneScanOutputs(g), (body) => cpuGraphLowering(body, opts));
  return hoistScanConstants(levelRewrites(inner, opts));
}

/** The rewrites of one level (its scans' bodies are rewritten on their own). */
function levelRewrites(g: Graph, opts: Pick<CompileGraphOptions, "layout" | "convToGemm">): Graph {
  return levelRewriteStages(g, opts).at(-1)?.graph ?? g;
}

/**
 * One level's graph after each rewrite that changed it, in order (empty when none did): what
 * pass bisection evaluates to name the rewrite after which a result differs.
 */
export function levelRewriteStages(g: Graph, opts: Pick<CompileGraphOptions, "layout" | "convToGemm">): { pass: string; graph: Graph }[] {
  const layout = opts.layout ?? "auto";
  const stages: { pass: string; graph: Graph }[] = [];
  const blocked = layout === "nchw" ? g : alterLayout(hostVectorBytes() / 4).run(g);
  const chosen = layout === "auto" && !blockedLayoutPays(g, blocked) ? g : blocked;
  if (chosen !== g) stages.push({ pass: "alter-layout", graph: chosen });
  const gemm = opts.convToGemm === false ? chosen : convToGemm(chosen);
  if (gemm !== chosen) stages.push({ pass: "conv-to-gemm", graph: gemm });
  return stages;
}

export async function compileGraph(g: Graph, opts: CompileGraphOptions = {}): Promise<CompiledGraph> {
  return (await compileGraphs([g], opts))[0]!;
}

/** Compiles graphs into shared libraries; throws the first graph's error if any fails. */
export async function compileGraphs(graphs: readonly Graph[], opts: CompileGraphOptions = {}): Promise<CompiledGraph[]> {
  return (await compileGraphsSettled(graphs, opts)).map((r) => {
    if (!r.ok) throw r.error;
    return r.compiled;
  });
}

/**
 * Compiles graphs, batchSize to a library, and reports each graph's result on its own:
 * every graph is lowered first (a graph that fails there is reported and left out), the
 * survivors are printed and built together; a failed build is split in halves and
 * retried, so only the graphs whose C++ does not compile fail.
 */
export async function compileGraphsSettled(graphs: readonly Graph[], opts: CompileGraphOptions = {}): Promise<CompileOutcome[]> {
  const alone = graphs.length === 1; // one graph keeps the plain names (and its cache entries)
  const out: CompileOutcome[] = new Array(graphs.length);
  const lowered: { index: number; lg: LoweredGraph; cpp: string }[] = [];
  const profile = opts.profile ?? process.env.LATHE_PROFILE === "1";
  const extraFlags = [...(opts.extraFlags ?? []), ...(opts.target?.options?.linkFlags ?? [])];
  const flags = [...targetFlags(), ...extraFlags];
  const printKernels = (ks: readonly GraphKernel[]): string => {
    const code = (opts.target?.codegen ?? printCppModule)(ks.filter((k) => k.external === undefined).map((k) => k.func));
    const ext = ks.flatMap((k) => (k.external === undefined ? [] : [k.external]));
    return ext.length ? `${code}\n${ext.join("\n")}` : code;
  };
  graphs.forEach((g, index) => {
    try {
      const lg = alone ? lowerGraph(g, opts) : lowerGraph(g, opts, `g${index}_`, `_${index}`);
      // Printing alone first finds a graph the printer rejects before it joins a batch.
      if (!alone) printKernels(lg.kernels);
      lowered.push({ index, lg, cpp: printGraphEntry(lg.plan, profile, lg.entry) });
    } catch (e) {
      out[index] = { ok: false, error: asError(e) };
    }
  });
  const batchSize = Math.max(1, opts.batchSize ?? 64);
  const batches: (typeof lowered)[] = [];
  for (let i = 0; i < lowered.length; i += batchSize) batches.push(lowered.slice(i, i + batchSize));
  const build = async (items: readonly (typeof lowered)[number][]) => {
    const source = `${printKernels(items.flatMap((x) => x.lg.kernels))}\n${items.map((x) => x.cpp).join("\n")}`;
    const built = await compileShared(source, extraFlags);
    try {
      return { source, path: built.path, lib: NativeLibrary.open(built.path) };
    } catch (e) {
      // A library that builds but does not load (an unresolved symbol) is its sources' fault too.
      throw new BuildError(`cannot load the built library ${built.path}: ${(e as Error).message}`);
    }
  };
  const jobs = Math.max(1, opts.jobs ?? Math.min(8, os.availableParallelism()));
  await mapLimit(batches, jobs, async (batch) => {
    for (const r of await buildBisecting(batch, build)) {
      if (!r.ok) { out[r.item.index] = { ok: false, error: r.error }; continue; }
      const { source, path, lib } = r.value;
      try {
        const entry = lib.kernel(r.item.lg.entry);
        out[r.item.index] = { ok: true, compiled: makeCompiled(r.item.lg, source, path, flags, lib, entry, opts.target?.name) };
      } catch (e) {
        out[r.item.index] = { ok: false, error: asError(e) };
      }
    }
  });
  return out;
}

const asError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));

export type Settled<T, R> = { readonly item: T } & ({ readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error });

/**
 * Builds `items` together; when that fails with a BuildError, builds each half on its
 * own, recursively, so one bad item costs about 2·log2(n) extra builds and fails alone.
 * Other errors are not the items' fault and fail the whole set.
 */
export async function buildBisecting<T, R>(items: readonly T[], build: (items: readonly T[]) => Promise<R>): Promise<Settled<T, R>[]> {
  if (items.length === 0) return [];
  try {
    const value = await build(items);
    return items.map((item) => ({ item, ok: true as const, value }));
  } catch (e) {
    const error = asError(e);
    if (items.length === 1 || !(e instanceof BuildError)) return items.map((item) => ({ item, ok: false as const, error }));
    const mid = Math.ceil(items.length / 2);
    return [...await buildBisecting(items.slice(0, mid), build), ...await buildBisecting(items.slice(mid), build)];
  }
}

/** Runs `f` on every item with at most `limit` calls in flight. */
async function mapLimit<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < items.length) await f(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

function makeCompiled(lg: LoweredGraph, source: string, library: string, flags: readonly string[], lib: NativeLibrary, entry: NativeKernel, target?: string): CompiledGraph {
  const g = lg.graph;
  const constants = g.constants.map((c) => ({ data: c.data, shape: c.value.type.shape as number[], dtype: c.value.type.dtype }));
  const runInto = (inputs: readonly Tensor[], outputs: readonly Tensor[]) => {
    const shapes = concreteShapes(g.outputs, checkInputs(g.inputs, inputs));
    checkOutputs(g.outputs, shapes, outputs);
    entry.call([...inputs, ...constants, ...outputs]);
  };
  return {
    graph: g, groups: lg.groups, plan: lg.plan, source, library, entry: lg.entry, flags, ...(target ? { target } : {}),
    run(inputs) {
      const shapes = concreteShapes(g.outputs, checkInputs(g.inputs, inputs));
      const outs = shapes.map((shape, i) => Tensor.zeros(shape, g.outputs[i]!.type.dtype));
      runInto(inputs, outs);
      return outs;
    },
    runInto,
    setNumThreads: (n) => lib.setNumThreads(n),
  };
}
