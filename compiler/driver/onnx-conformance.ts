/**
 * ONNX backend-test conformance: every case directory of ONNX's test data (model.onnx plus
 * test_data_set_*\/{input,output}_N.pb) is imported, compiled for the cpu target and run,
 * and its outputs are compared with the stored ones under ONNX's tolerance. Graphs are
 * compiled many to a shared library (compileGraphsSettled), so the ~1,000 cases cost a few
 * dozen g++ runs. Each case ends in one outcome; a non-Lathe exception anywhere is a
 * "crash" (a Lathe bug), recorded like the others rather than thrown.
 *
 * A case whose every graph input had to be bound at compile time (or that has none) is
 * "folded": its outputs are constants the compiler computed, and the generated code only
 * copies them. Such a case is also run "free" where the graph allows: the bound inputs that
 * graph nodes still read become run-time inputs again (shapes stay specialized to the data
 * set's values), so generated code computes what depends on them. The report counts both.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { LatheError } from "../../core/errors.ts";
import { compileGraphsSettled } from "../targets/cpu/graph.ts";
import type { CompiledGraph, CompileOutcome } from "../targets/cpu/graph.ts";
import type { Graph } from "../graph/graph.ts";
import { interpret } from "../graph/interpret.ts";
import { validate } from "../graph/validate.ts";
import { dataToNumbers, numbersToData } from "../graph/passes/constant-data.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { OnnxError, StaticInputError, UnsupportedFeatureError, UnsupportedOpsError } from "../frontend/onnx/errors.ts";
import { importModel } from "../frontend/onnx/import.ts";
import type { ImportedModel } from "../frontend/onnx/import.ts";
import { decodeModel } from "../frontend/onnx/proto.ts";
import type { GraphProto, ValueInfoProto } from "../frontend/onnx/proto.ts";
import { converterFor } from "../frontend/onnx/convert.ts";
import { readTensorFile } from "../frontend/onnx/tensor.ts";

export const TESTDATA_ROOT = "/usr/share/libonnx-testdata/data";
export const FOLDERS = ["node", "pytorch-converted", "pytorch-operator", "simple"] as const;

/** ONNX's backend-test tolerance (onnx/backend/test/case/node: rtol 1e-3, atol 1e-7). */
export const RTOL = 1e-3, ATOL = 1e-7;

export type Outcome = "pass" | "fail" | "unsupported" | "error" | "crash";
export const OUTCOMES: readonly Outcome[] = ["pass", "fail", "unsupported", "error", "crash"];

export interface ConformanceCase {
  readonly folder: string;
  readonly name: string;
  readonly dir: string;
}

export interface CaseResult {
  readonly folder: string;
  readonly name: string;
  readonly outcome: Outcome;
  /** Why it did not pass (empty for a pass). */
  readonly reason: string;
  /** Graph inputs bound at compile time because an operand had to be static. */
  readonly bound: readonly string[];
  /** Unsupported ONNX op types (for the report's ranking). */
  readonly unsupportedOps: readonly string[];
  /** Every graph input was bound at compile time (or there are none): the outputs are constants folded by the compiler. */
  readonly folded?: boolean;
  /** A folded case run again with its bound inputs left free (see the file comment). */
  readonly free?: FreeRun;
}

/** The outcome of a folded case's run with free inputs; "not possible" when nothing in the graph reads a bound input any more. */
export interface FreeRun {
  readonly outcome: Outcome | "not possible";
  readonly reason: string;
  /** The inputs left free. */
  readonly inputs: readonly string[];
}

export interface ConformanceOptions {
  /**
   * Shared libraries the graphs are spread over (default 24, about 40 graphs each). A graph's
   * library is chosen by a hash of its case name, so adding or changing one case rebuilds one
   * library and the kernel cache keeps the rest.
   */
  readonly libraries?: number;
  /** g++ processes at once (default: the CPU count, at most 8). */
  readonly jobs?: number;
  /** For failing cases, also run the reference interpreter to say whether converter or codegen is wrong (default true). */
  readonly hints?: boolean;
  /** Largest graph (total elements of inputs and outputs) the interpreter runs for a hint (default 200,000). */
  readonly hintMaxElements?: number;
  /** Graphs with more nodes than this are compiled alone, after the batches (default 256). */
  readonly largeGraphNodes?: number;
  /** Progress and diagnostics (phases, imports slower than a second), one line each. */
  readonly log?: (message: string) => void;
}

/** Case directories under root/folder for each folder, sorted by name; `filter` matches "folder/name". */
export function listCases(root = TESTDATA_ROOT, folders: readonly string[] = FOLDERS, filter?: RegExp): ConformanceCase[] {
  const out: ConformanceCase[] = [];
  for (const folder of folders) {
    const base = join(root, folder);
    if (!existsSync(base)) continue;
    for (const name of readdirSync(base).sort()) {
      const dir = join(base, name);
      if (!existsSync(join(dir, "model.onnx"))) continue;
      if (filter && !filter.test(`${folder}/${name}`)) continue;
      out.push({ folder, name, dir });
    }
  }
  return out;
}

export interface DataSet {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
}

const numbered = (files: readonly string[], prefix: string): string[] =>
  files.filter((f) => new RegExp(`^${prefix}_\\d+\\.pb$`).test(f))
    .sort((a, b) => Number(a.slice(prefix.length + 1, -3)) - Number(b.slice(prefix.length + 1, -3)));

/** The case's test data sets, in order (input_N/output_N files by number). */
export function readDataSets(dir: string): DataSet[] {
  return readdirSync(dir).filter((d) => d.startsWith("test_data_set_")).sort().map((name) => {
    const sub = join(dir, name);
    const files = readdirSync(sub);
    return {
      name,
      inputs: numbered(files, "input").map((f) => readTensorFile(join(sub, f))),
      outputs: numbered(files, "output").map((f) => readTensorFile(join(sub, f))),
    };
  });
}

// ---------------------------------------------------------------------------------------
// Comparison

/** Why `actual` does not match `expected` under ONNX's tolerance, or null when it does. */
export function mismatch(actual: Tensor, expected: Tensor, rtol = RTOL, atol = ATOL): string | null {
  if (actual.dtype !== expected.dtype) return `dtype ${actual.dtype}, expected ${expected.dtype}`;
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return `shape [${actual.shape.join(", ")}], expected [${expected.shape.join(", ")}]`;
  }
  const n = expected.size;
  if (expected.dtype === "i64") {
    const a = actual.data as BigInt64Array, e = expected.data as BigInt64Array;
    for (let i = 0; i < n; i++) if (a[i] !== e[i]) return `element ${i} is ${a[i]}, expected ${e[i]} (${countDiff(n, (k) => a[k] !== e[k])} of ${n} differ)`;
    return null;
  }
  const a = dataToNumbers(actual.dtype, actual.data), e = dataToNumbers(expected.dtype, expected.data);
  const float = expected.dtype === "f16" || expected.dtype === "f32" || expected.dtype === "f64";
  if (!float) {
    for (let i = 0; i < n; i++) if (a[i] !== e[i]) return `element ${i} is ${a[i]}, expected ${e[i]} (${countDiff(n, (k) => a[k] !== e[k])} of ${n} differ)`;
    return null;
  }
  const bad = (k: number): boolean => {
    const x = a[k]!, y = e[k]!;
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) return false;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return true; // infinities match only themselves (atol + rtol·∞ would accept anything)
    return !(Math.abs(x - y) <= atol + rtol * Math.abs(y));
  };
  let worst = -1, worstErr = -1, count = 0;
  for (let i = 0; i < n; i++) {
    if (!bad(i)) continue;
    count++;
    const err = Number.isNaN(a[i]! - e[i]!) ? Infinity : Math.abs(a[i]! - e[i]!);
    if (err > worstErr) { worst = i; worstErr = err; }
  }
  if (count === 0) return null;
  return `max error ${fmt(worstErr)} at element ${worst} (${fmt(a[worst]!)} vs expected ${fmt(e[worst]!)}; ${count} of ${n} outside tolerance)`;
}

const countDiff = (n: number, differs: (k: number) => boolean): number => {
  let c = 0;
  for (let k = 0; k < n; k++) if (differs(k)) c++;
  return c;
};
const fmt = (x: number): string => (Number.isFinite(x) ? Number(x.toPrecision(4)).toString() : String(x));

// ---------------------------------------------------------------------------------------
// Running

/** One graph to compile for a case: data sets that share the same bound-input values share it. */
interface Unit {
  readonly caseIndex: number;
  readonly graph: Graph;
  readonly model: ImportedModel;
  readonly datasets: readonly { readonly set: DataSet; readonly inputs: readonly Tensor[] }[];
  /** A folded case's graph with its bound inputs left free: results go to CaseResult.free. */
  readonly free?: boolean;
}

type Prepared =
  | { readonly done: CaseResult }
  | { readonly units: readonly Unit[]; readonly bound: readonly string[]; readonly folded: boolean; readonly free: readonly Unit[] | FreeRun };

/** Bounded: each round binds at least one more input, and a model has few. */
const MAX_BIND_ROUNDS = 16;

const isCrash = (e: unknown): boolean => !(e instanceof LatheError);
const explain = (e: unknown): string => {
  if (!(e instanceof Error)) return String(e);
  if (isCrash(e)) {
    const frame = (e.stack ?? "").split("\n").find((l) => l.trim().startsWith("at "))?.trim() ?? "";
    return `${e.name}: ${e.message}${frame ? ` (${frame})` : ""}`;
  }
  return e.message;
};

function failure(c: ConformanceCase, e: unknown, bound: readonly string[], stage: string): CaseResult {
  const base = { folder: c.folder, name: c.name, bound, unsupportedOps: [] as string[] };
  if (e instanceof UnsupportedOpsError) {
    const ops = [...new Set(e.unsupported.map((u) => u.op))].sort();
    const reasons = [...new Set(e.unsupported.map((u) => `${u.op}: ${u.reason}`))];
    return { ...base, outcome: "unsupported", reason: reasons.join("; "), unsupportedOps: ops };
  }
  if (isCrash(e)) return { ...base, outcome: "crash", reason: `${stage}: ${explain(e)}` };
  if (e instanceof UnsupportedFeatureError) return { ...base, outcome: "unsupported", reason: e.message };
  return { ...base, outcome: "error", reason: `${stage}: ${explain(e)}` };
}

/** The model's graph inputs that test data supplies: inputs that are not initializers, in order. */
function dataInputNames(g: GraphProto | undefined): string[] {
  const inits = new Set((g?.initializer ?? []).map((t) => t.name));
  return (g?.input ?? []).map((i) => i.name ?? "").filter((n) => !inits.has(n));
}

/** Op types (domain-qualified outside the default domain) that have no converter, in the graph and its bodies. */
function unconvertibleOps(g: GraphProto | undefined): string[] {
  const ops = (g?.node ?? []).flatMap((n): string[] => {
    const domain = n.domain ?? "", op = n.op_type ?? "";
    const inner = (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]).flatMap(unconvertibleOps);
    if (domain !== "" && domain !== "ai.onnx") return [`${domain}.${op}`, ...inner];
    return converterFor(op) ? inner : [op, ...inner];
  });
  return [...new Set(ops)].sort();
}

/**
 * Graph inputs and outputs that are not tensors (sequences, optionals, maps): the test data
 * then holds SequenceProto/OptionalProto files, which are not read as tensors at all.
 */
function nonTensorValues(g: GraphProto | undefined): string[] {
  const kind = (vi: ValueInfoProto): string | null => {
    const t = vi.type;
    if (!t || t.tensor_type) return null;
    return t.sequence_type ? "sequence" : t.optional_type ? "optional" : t.map_type ? "map" : t.sparse_tensor_type ? "sparse tensor" : "non-tensor";
  };
  return [...(g?.input ?? []), ...(g?.output ?? [])].flatMap((vi) => {
    const k = kind(vi);
    return k ? [`${vi.name ?? "?"} (${k})`] : [];
  });
}

/** Imports a case, binding graph inputs that must be static (from each data set) until the import succeeds. */
function prepare(c: ConformanceCase, caseIndex: number): Prepared {
  let bound: string[] = [];
  let missingOps: string[] = [];
  try {
    const modelPath = join(c.dir, "model.onnx");
    const bytes = readFileSync(modelPath);
    const proto = decodeModel(bytes, modelPath);
    missingOps = unconvertibleOps(proto.graph);
    const nonTensor = nonTensorValues(proto.graph);
    if (nonTensor.length > 0) {
      const ops = missingOps.length ? `; ops without a converter: ${missingOps.join(", ")}` : "";
      return { done: { folder: c.folder, name: c.name, outcome: "unsupported", reason: `non-tensor graph inputs/outputs: ${nonTensor.join(", ")}${ops}`, bound, unsupportedOps: missingOps } };
    }
    const names = dataInputNames(proto.graph);
    const sets = readDataSets(c.dir);
    if (sets.length === 0) throw new OnnxError(`${c.dir}: no test_data_set_*`);
    for (const s of sets) {
      if (s.inputs.length > names.length) throw new OnnxError(`${c.dir}/${s.name}: ${s.inputs.length} input files for ${names.length} graph inputs`);
    }
    const valueOf = (s: DataSet, name: string): Tensor | undefined => s.inputs[names.indexOf(name)];
    // Find which inputs must be bound, from the first data set.
    const importWith = (s: DataSet, toBind: readonly string[]): ImportedModel => {
      const bind: Record<string, Tensor> = {};
      for (const n of toBind) {
        const t = valueOf(s, n);
        if (!t) throw new OnnxError(`${c.dir}/${s.name}: input '${n}' must be bound but the data set does not give it`);
        bind[n] = t;
      }
      return importModel(proto, modelPath, { bind });
    };
    let first: ImportedModel | undefined;
    for (let round = 0; round < MAX_BIND_ROUNDS && !first; round++) {
      try {
        first = importWith(sets[0]!, bound);
      } catch (e) {
        const fresh = e instanceof StaticInputError ? e.inputs.filter((n) => !bound.includes(n)) : [];
        if (fresh.length === 0) throw e;
        bound = [...bound, ...fresh];
      }
    }
    if (!first) throw new OnnxError(`${c.dir}: still needs static inputs after ${MAX_BIND_ROUNDS} rounds of binding`);
    // Data sets with different values for the bound inputs need their own graph.
    const groups: { key: DataSet; sets: DataSet[] }[] = [];
    for (const s of sets) {
      const g = groups.find((x) => bound.every((n) => sameTensor(valueOf(x.key, n), valueOf(s, n))));
      if (g) g.sets.push(s);
      else groups.push({ key: s, sets: [s] });
    }
    const units = groups.map((grp, k): Unit => {
      const model = k === 0 ? first! : importWith(grp.key, bound);
      return {
        caseIndex, graph: model.graph, model,
        datasets: grp.sets.map((set) => ({
          set,
          inputs: model.inputs.map((inp) => {
            const t = valueOf(set, inp.name);
            if (!t) throw new OnnxError(`${c.dir}/${set.name}: no input file for graph input '${inp.name}'`);
            return t;
          }),
        })),
      };
    });
    const folded = units.every((u) => u.graph.inputs.length === 0);
    return { units, bound, folded, free: folded ? freeUnits(units, bound, valueOf) : [] };
  } catch (e) {
    const r = failure(c, e, bound, "import");
    // Ops without a converter count in the ranking even when something else stopped the import first.
    return { done: r.outcome === "unsupported" && r.unsupportedOps.length === 0 ? { ...r, unsupportedOps: missingOps } : r };
  }
}

/**
 * A folded case's units with the bound inputs that graph nodes still read turned back into
 * graph inputs (fed from each data set), or why that is not possible: the importer folded
 * everything that depended on them (an output whose shape is their value: Range,
 * ConstantOfShape), or the model has no inputs at all.
 */
function freeUnits(units: readonly Unit[], bound: readonly string[], valueOf: (s: DataSet, name: string) => Tensor | undefined): readonly Unit[] | FreeRun {
  if (bound.length === 0) return { outcome: "not possible", reason: "the model has no inputs", inputs: [] };
  const out: Unit[] = [];
  for (const u of units) {
    const read = new Set(u.graph.nodes.flatMap((n) => n.inputs));
    const freed = u.graph.constants.filter((c) => bound.includes(c.value.name) && read.has(c.value));
    if (freed.length === 0) {
      return { outcome: "not possible", reason: `the importer folded everything computed from ${bound.join(", ")} (their values set output shapes)`, inputs: [] };
    }
    const graph: Graph = { ...u.graph, inputs: freed.map((c) => c.value), constants: u.graph.constants.filter((c) => !freed.includes(c)) };
    try {
      validate(graph);
    } catch (e) {
      return { outcome: isCrash(e) ? "crash" : "error", reason: `freeing ${freed.map((c) => c.value.name).join(", ")}: ${explain(e)}`, inputs: [] };
    }
    out.push({
      ...u, graph, free: true,
      datasets: u.datasets.map(({ set }) => ({ set, inputs: freed.map((c) => valueOf(set, c.value.name)!) })),
    });
  }
  return out;
}

function sameTensor(a: Tensor | undefined, b: Tensor | undefined): boolean {
  if (!a || !b) return a === b;
  if (a.dtype !== b.dtype || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false;
  for (let i = 0; i < a.size; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Runs a compiled unit on its data sets: null when every output matches, else why not. */
function check(compiled: CompiledGraph, unit: Unit): { stage: string; reason: string; setIndex: number } | null {
  for (let k = 0; k < unit.datasets.length; k++) {
    const { set, inputs } = unit.datasets[k]!;
    const got = compiled.run(inputs);
    if (got.length !== set.outputs.length) return { stage: "outputs", reason: `${set.name}: ${got.length} outputs, the test data has ${set.outputs.length}`, setIndex: k };
    for (let i = 0; i < got.length; i++) {
      const why = mismatch(got[i]!, set.outputs[i]!);
      if (why) return { stage: "compare", reason: `${set.name}: output ${unit.model.outputs[i]?.name ?? i}: ${why}`, setIndex: k };
    }
  }
  return null;
}

/** Whether the reference interpreter reproduces the expected outputs (to tell a converter bug from a codegen bug). */
function interpreterHint(unit: Unit, setIndex: number, maxElements: number): string {
  const { set, inputs } = unit.datasets[setIndex]!;
  const size = [...inputs, ...set.outputs].reduce((a, t) => a + t.size, 0);
  if (size > maxElements) return "interpreter not run (graph too large)";
  try {
    const res = interpret(unit.graph, inputs.map((t) => ({ data: dataToNumbers(t.dtype, t.data), shape: t.shape })));
    for (let i = 0; i < set.outputs.length; i++) {
      const r = res.outputs[i];
      const v = unit.graph.outputs[i];
      if (!r || !v) return "interpreter: output count differs too (converter)";
      const why = mismatch(new Tensor(numbersToData(v.type.dtype, r.data), r.shape, v.type.dtype), set.outputs[i]!);
      if (why) return `interpreter disagrees too (converter or op definition): ${why}`;
    }
    return "interpreter agrees with the expected output (codegen bug)";
  } catch (e) {
    return `interpreter failed: ${explain(e)}`;
  }
}

/** Imports, compiles and runs every case; never throws for a case's failure. */
export async function runConformance(cases: readonly ConformanceCase[], opts: ConformanceOptions = {}): Promise<CaseResult[]> {
  const log = opts.log ?? (() => {});
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
  const results: (CaseResult | undefined)[] = new Array(cases.length);
  const units: Unit[] = [];
  const boundOf: (readonly string[])[] = new Array(cases.length).fill([]);
  const foldedOf: boolean[] = new Array(cases.length).fill(false);
  const freeOf: (FreeRun | undefined)[] = new Array(cases.length);
  cases.forEach((c, i) => {
    const start = performance.now();
    const p = prepare(c, i);
    if ("done" in p) results[i] = p.done;
    else {
      units.push(...p.units);
      boundOf[i] = p.bound;
      foldedOf[i] = p.folded;
      if (p.folded && Array.isArray(p.free)) units.push(...(p.free as readonly Unit[]));
      else if (p.folded) freeOf[i] = p.free as FreeRun;
    }
    const ms = performance.now() - start;
    if (ms > 1000) log(`slow import: ${c.folder}/${c.name} took ${(ms / 1000).toFixed(1)} s`);
  });
  log(`imported ${cases.length} cases into ${units.length} graphs (${elapsed()})`);
  // A huge graph in a batch makes every build of that batch slow, and a failing one is
  // rebuilt ~2·log2(batch) times while bisecting; large graphs get a library each.
  const large = opts.largeGraphNodes ?? 256;
  const libraries = Math.max(1, opts.libraries ?? 24);
  const buckets = new Map<string, number[]>();
  units.forEach((u, k) => {
    const c = cases[u.caseIndex]!;
    // Free runs share one library of their own, so adding them rebuilds none of the others.
    const key = u.free ? "free" : u.graph.nodes.length > large ? `large:${k}` : `lib:${fnv1a(`${c.folder}/${c.name}`) % libraries}`;
    buckets.set(key, [...(buckets.get(key) ?? []), k]);
  });
  const compiled: CompileOutcome[] = new Array(units.length);
  const jobs = Math.max(1, opts.jobs ?? Math.min(8, availableParallelism()));
  await mapLimit([...buckets.values()], jobs, async (which) => {
    const res = await compileGraphsSettled(which.map((k) => units[k]!.graph), { batchSize: which.length, jobs: 1 });
    which.forEach((k, j) => { compiled[k] = res[j]!; });
  });
  log(`compiled ${units.length} graphs in ${buckets.size} libraries (${elapsed()})`);
  units.forEach((unit, k) => {
    const i = unit.caseIndex, c = cases[i]!;
    if (unit.free) {
      if (freeOf[i]) return; // an earlier free unit of this case already failed
      const inputs = unit.graph.inputs.map((v) => v.name);
      const outcome = compiled[k]!;
      let r: CaseResult | undefined;
      if (!outcome.ok) r = failure(c, outcome.error, [], "compile");
      else {
        try {
          const bad = check(outcome.compiled, unit);
          if (bad) r = { folder: c.folder, name: c.name, outcome: "fail", reason: bad.reason, bound: [], unsupportedOps: [] };
        } catch (e) {
          r = failure(c, e, [], "run");
        }
      }
      if (r) freeOf[i] = { outcome: r.outcome, reason: r.reason, inputs };
      return;
    }
    if (results[i]) return; // an earlier unit of this case already failed
    const outcome = compiled[k]!;
    if (!outcome.ok) { results[i] = failure(c, outcome.error, boundOf[i]!, "compile"); return; }
    try {
      const bad = check(outcome.compiled, unit);
      if (bad) {
        const hint = opts.hints === false ? "" : `; ${interpreterHint(unit, bad.setIndex, opts.hintMaxElements ?? 200_000)}`;
        results[i] = { folder: c.folder, name: c.name, outcome: "fail", reason: `${bad.reason}${hint}`, bound: boundOf[i]!, unsupportedOps: [] };
      }
    } catch (e) {
      results[i] = failure(c, e, boundOf[i]!, "run");
    }
  });
  log(`ran and compared (${elapsed()})`);
  // A free run with no failure recorded passed on every unit.
  units.forEach((u) => { if (u.free && !freeOf[u.caseIndex]) freeOf[u.caseIndex] = { outcome: "pass", reason: "", inputs: u.graph.inputs.map((v) => v.name) }; });
  return cases.map((c, i) => {
    const r = results[i] ?? { folder: c.folder, name: c.name, outcome: "pass" as const, reason: "", bound: boundOf[i]!, unsupportedOps: [] };
    return foldedOf[i] ? { ...r, folded: true, free: freeOf[i] ?? { outcome: "not possible", reason: "", inputs: [] } } : r;
  });
}

/** 32-bit FNV-1a: a stable hash of case names for choosing their library. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** Runs `f` on every item with at most `limit` calls in flight. */
async function mapLimit<T>(items: readonly T[], limit: number, f: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => { while (next < items.length) await f(items[next++]!); };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---------------------------------------------------------------------------------------
// Report

export type Counts = Record<Outcome, number> & { total: number };

export function countByFolder(results: readonly CaseResult[]): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const r of results) {
    const c = out.get(r.folder) ?? { total: 0, pass: 0, fail: 0, unsupported: 0, error: 0, crash: 0 };
    c.total++;
    c[r.outcome]++;
    out.set(r.folder, c);
  }
  return out;
}

/** Pass rate of the given folders together, in [0, 1]. */
export function passRate(results: readonly CaseResult[], folders: readonly string[]): number {
  const sel = results.filter((r) => folders.includes(r.folder));
  return sel.length === 0 ? 0 : sel.filter((r) => r.outcome === "pass").length / sel.length;
}

/** Unsupported op types, most cases first. */
export function unsupportedOpRanking(results: readonly CaseResult[]): [string, number][] {
  const n = new Map<string, number>();
  for (const r of results) for (const op of r.unsupportedOps) n.set(op, (n.get(op) ?? 0) + 1);
  return [...n].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

const REGENERATE = "npx tsx scripts/onnx-conformance.ts";
/**
 * A reason as the report shows it: one line, at most 400 characters; for a failed g++ build
 * only the first diagnostic, with the temporary source path (which differs per run) elided.
 */
export function conciseReason(reason: string): string {
  let r = reason.replace(/\s*\n\s*/g, " ");
  const diag = /g\+\+ failed.*?(error: .*)$/.exec(r);
  if (diag) r = `${r.slice(0, r.indexOf("g++ failed"))}g++ failed: ${diag[1]}`;
  r = r.replace(/\S*\.tmp-\d+-[0-9a-f]+\.cc(:\d+:\d+)?:?\s*/g, "");
  return r.length > 400 ? `${r.slice(0, 399)}…` : r;
}
const cell = (s: string): string => conciseReason(s).replace(/\|/g, "\\|");
const pct = (a: number, b: number): string => (b === 0 ? "–" : `${((100 * a) / b).toFixed(1)}%`);

/** The Markdown report: how to regenerate, summary per folder, unsupported ops, then one table per folder. */
export function renderReport(results: readonly CaseResult[], root = TESTDATA_ROOT): string {
  const counts = countByFolder(results);
  const folders = [...counts.keys()];
  const lines: string[] = [
    "# ONNX backend-test conformance",
    "",
    `Generated by \`${REGENERATE}\` over the whole suite (\`--filter regex\` and \`--folder name\``,
    "print a partial report instead of writing this file). `test/onnx/conformance.test.ts` runs the",
    "same suite and fails when an outcome here is stale; `LATHE_WRITE_CONFORMANCE=1 npx vitest run",
    "test/onnx/conformance.test.ts` rewrites this file from its run.",
    "",
    `Cases: \`${root}/{${folders.join(",")}}\` (Debian's libonnx-testdata).`,
    "Each model is imported, compiled for the cpu target and run on every `test_data_set_*`; outputs",
    "must match in dtype and shape, floats within |actual − expected| ≤ atol + rtol·|expected| with",
    `rtol ${RTOL} and atol ${ATOL} (NaN equals NaN, infinities only themselves), integers and booleans`,
    "exactly. Outcomes: **pass**; **fail** (wrong output: the worst element, and whether the reference",
    "interpreter reproduces the expected output — if it does, code generation is wrong, otherwise the",
    "converter or the op's definition); **unsupported** (ops, op variants, dtypes or value types Lathe",
    "does not import); **error** (any other LatheError); **crash** (a non-Lathe exception: a bug).",
    "\"bound\" lists graph inputs fixed at compile time because an operand (a shape, axes, pads, …)",
    "must be static; they are bound from each data set's own input files.",
    "",
    "A case is **folded** when every graph input was bound (or it has none): its outputs are constants",
    "the compiler computed, and the generated code only copies them, so its pass says little about",
    "code generation. A folded case is also run with its bound inputs **free** where the graph allows:",
    "the bound inputs that graph nodes still read become run-time inputs again, fed from each data",
    "set (shapes stay specialized to the data set's values, and what the importer already folded stays",
    "folded); \"not possible\" when the importer folded everything that depended on them (an output",
    "whose shape is their value, as in Range or ConstantOfShape). In the summary, **folded** counts the",
    "passing cases that are folded, and **computed** counts the passes whose outputs generated code",
    "computed: the passes that are not folded, plus the folded cases whose free run passed.",
    "",
    "**Control flow.** `Scan` and `Loop` import as loops (scan nodes: the body compiled once; see",
    "docs/architecture.md, \"Loops\"), `If` not at all. A `Loop` needs a static trip count M and initial",
    "cond, and a condition that the body leaves true (or makes false after the first step): a",
    "condition the body computes from run-time values is dynamic termination, which is out of",
    "scope and refused naming the node. Also refused: an operand a body op needs at compile time",
    "that changes per step (`test_loop11`'s Slice starts), opset-8 `Scan`'s sequence_lens, and a",
    "`Scan` input or output running against the others over a symbolic length.",
    "",
    "## Summary",
    "",
    "| folder | cases | pass | fail | unsupported | error | crash | pass % | folded | computed | computed % |",
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
  ];
  const total: Counts = { total: 0, pass: 0, fail: 0, unsupported: 0, error: 0, crash: 0 };
  const foldedPass = (rs: readonly CaseResult[]) => rs.filter((r) => r.outcome === "pass" && r.folded).length;
  const computedPass = (rs: readonly CaseResult[]) => rs.filter((r) => r.outcome === "pass" && (!r.folded || r.free?.outcome === "pass")).length;
  for (const f of folders) {
    const c = counts.get(f)!, rs = results.filter((r) => r.folder === f);
    lines.push(`| ${f} | ${c.total} | ${c.pass} | ${c.fail} | ${c.unsupported} | ${c.error} | ${c.crash} | ${pct(c.pass, c.total)} | ${foldedPass(rs)} | ${computedPass(rs)} | ${pct(computedPass(rs), c.total)} |`);
    for (const k of ["total", ...OUTCOMES] as const) total[k] += c[k];
  }
  lines.push(`| all | ${total.total} | ${total.pass} | ${total.fail} | ${total.unsupported} | ${total.error} | ${total.crash} | ${pct(total.pass, total.total)} | ${foldedPass(results)} | ${computedPass(results)} | ${pct(computedPass(results), total.total)} |`);
  const folded = results.filter((r) => r.folded).sort((a, b) => `${a.folder}/${a.name}`.localeCompare(`${b.folder}/${b.name}`));
  if (folded.length > 0) {
    lines.push("", "## Folded cases and their free runs", "", "| case | outcome | free run | free inputs / why not |", "| --- | --- | --- | --- |");
    for (const r of folded) {
      const free = r.free ?? { outcome: "not possible" as const, reason: "", inputs: [] };
      lines.push(`| ${r.folder}/${r.name} | ${r.outcome} | ${free.outcome} | ${cell([free.inputs.length ? `free: ${free.inputs.join(", ")}` : "", free.reason].filter(Boolean).join("; "))} |`);
    }
  }
  const ranking = unsupportedOpRanking(results);
  if (ranking.length > 0) {
    lines.push("", "## Unsupported ops and op variants by number of cases", "", "| op | cases |", "| --- | ---: |");
    for (const [op, n] of ranking) lines.push(`| ${op} | ${n} |`);
  }
  for (const f of folders) {
    lines.push("", `## ${f}`, "", "| case | outcome | reason / bound inputs |", "| --- | --- | --- |");
    for (const r of results.filter((x) => x.folder === f).sort((a, b) => a.name.localeCompare(b.name))) {
      const bound = r.bound.length ? `bound: ${r.bound.join(", ")}` : "";
      const folded = r.folded ? `folded (free run: ${r.free?.outcome ?? "not possible"})` : "";
      lines.push(`| ${r.name} | ${r.outcome} | ${cell([r.reason, bound, folded].filter(Boolean).join("; "))} |`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** Free-run outcomes of the folded cases a report lists, keyed "folder/case". */
export function parseReportFreeRuns(markdown: string): Map<string, FreeRun["outcome"]> {
  const out = new Map<string, FreeRun["outcome"]>();
  for (const line of markdown.split("\n")) {
    const row = /^\| (\S+\/\S+) \| (?:pass|fail|unsupported|error|crash) \| (pass|fail|unsupported|error|crash|not possible) \|/.exec(line);
    if (row) out.set(row[1]!, row[2] as FreeRun["outcome"]);
  }
  return out;
}

/** Outcomes recorded in a report, keyed "folder/case" (for checking that a committed report is current). */
export function parseReportOutcomes(markdown: string): Map<string, Outcome> {
  const out = new Map<string, Outcome>();
  let folder: string | undefined;
  for (const line of markdown.split("\n")) {
    if (line.startsWith("## ")) { folder = /^## (\S+)$/.exec(line)?.[1]; continue; }
    const row = /^\| (\S+) \| (pass|fail|unsupported|error|crash) \|/.exec(line);
    if (row && folder) out.set(`${folder}/${row[1]}`, row[2] as Outcome);
  }
  return out;
}
