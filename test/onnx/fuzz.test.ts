/**
 * ONNX import fuzzing: 1,000 models mutated from a dozen small seeds (seeded PRNG), by
 * bytes (truncation, flips, deleted and duplicated spans) and by structure at the protobuf
 * level (removed initializers, changed dims, wrong dtypes, cycles, dropped attributes,
 * unknown ops, empty graphs, …). Each must either import and run, or fail with a
 * LatheError; any other exception fails the test with the case number, seed model and
 * mutations, so `FUZZ_CASE=n` reproduces one case.
 *
 * Every model that imports runs on the reference interpreter; the structurally distinct
 * ones (graph text without constant data) are also compiled, batched into shared libraries,
 * and run natively — at most COMPILE_CAP of them, which keeps a cold kernel cache inside
 * the time budget (the rest are only interpreted).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { importOnnx } from "../../compiler/frontend/onnx/index.ts";
import type { ImportedModel } from "../../compiler/frontend/onnx/index.ts";
import { TESTDATA_ROOT } from "../../compiler/driver/onnx-conformance.ts";
import { compileGraphsSettled } from "../../compiler/targets/cpu/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { dataToNumbers } from "../../compiler/graph/passes/constant-data.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";

const CASES = Number(process.env.FUZZ_ONNX_CASES ?? 1000);
const MASTER_SEED = 0x0dd5eed;
/** Largest input (elements) fed to a mutated model; bigger ones are imported but not run. */
const MAX_RUN_ELEMENTS = 50_000;
/** Distinct importable graphs compiled natively (cold g++ time is the budget). */
const COMPILE_CAP = 96;

const SEEDS = [
  "simple/test_single_relu_model", "simple/test_gradient_of_add_and_mul", "node/test_leakyrelu",
  "simple/test_shrink", "node/test_add_bcast", "node/test_clip", "node/test_where_example", "node/test_sub_uint8",
  "pytorch-operator/test_operator_params", "pytorch-operator/test_operator_non_float_params",
  "pytorch-converted/test_PReLU_1d", "pytorch-converted/test_Linear_no_bias",
];

// The frontend's own copy of ONNX's schema, for re-encoding mutated messages.
const modelType = protobuf.parse(readFileSync(new URL("../../compiler/frontend/onnx/onnx.proto", import.meta.url), "utf8"), { keepCase: true })
  .root.lookupType("onnx.ModelProto");

/** A decoded ModelProto as protobufjs's toObject gives it (loosely typed: mutations write arbitrary fields). */
type Obj = Record<string, any>; // any: mutations read and write arbitrary protobuf fields

const decode = (bytes: Uint8Array): Obj => modelType.toObject(modelType.decode(bytes), { longs: Number, enums: Number }) as Obj;
const encode = (m: Obj): Uint8Array => modelType.encode(modelType.fromObject(m)).finish();

const pick = <T>(rng: Rng, xs: readonly T[]): T | undefined => (xs.length ? xs[rng.int(0, xs.length)] : undefined);
const WEIRD_DIMS = [0, 1, 2, 3, 7, 1000, 2 ** 20, 2 ** 31, -1];

type ByteMutation = (b: Uint8Array, rng: Rng) => Uint8Array;
type ModelMutation = (m: Obj, rng: Rng) => void;

const byteMutations: Record<string, ByteMutation> = {
  truncate: (b, rng) => b.slice(0, rng.int(0, b.length)),
  flipBytes: (b, rng) => {
    const out = b.slice();
    for (let k = rng.int(1, 9); k > 0; k--) out[rng.int(0, out.length)] ^= 1 << rng.int(0, 8);
    return out;
  },
  randomBytes: (b, rng) => {
    const out = b.slice();
    for (let k = rng.int(1, 5); k > 0; k--) out[rng.int(0, out.length)] = rng.int(0, 256);
    return out;
  },
  deleteSpan: (b, rng) => {
    const i = rng.int(0, b.length), n = rng.int(1, 17);
    return new Uint8Array([...b.slice(0, i), ...b.slice(i + n)]);
  },
  duplicateSpan: (b, rng) => {
    const i = rng.int(0, b.length), n = rng.int(1, 33);
    return new Uint8Array([...b.slice(0, i + n), ...b.slice(i, i + n), ...b.slice(i + n)]);
  },
};

/** The graph (created when an earlier mutation removed it) and its node list. */
const graphOf = (m: Obj): Obj => (m.graph ??= {});
const nodes = (m: Obj): Obj[] => (graphOf(m).node ??= []) as Obj[];

const modelMutations: Record<string, ModelMutation> = {
  removeInitializer: (m, rng) => {
    const inits = m.graph?.initializer as Obj[] | undefined;
    if (inits?.length) inits.splice(rng.int(0, inits.length), 1);
    else nodes(m).splice(rng.int(0, Math.max(1, nodes(m).length)), 1);
  },
  changeInitializerDims: (m, rng) => {
    const t = pick(rng, (m.graph?.initializer ?? []) as Obj[]);
    if (!t) return;
    t.dims = [...(t.dims ?? [])];
    if (t.dims.length === 0 || rng.float() < 0.2) t.dims.push(pick(rng, WEIRD_DIMS));
    else t.dims[rng.int(0, t.dims.length)] = pick(rng, WEIRD_DIMS);
  },
  changeInputDims: (m, rng) => {
    const vi = pick(rng, [...(m.graph?.input ?? []), ...(m.graph?.output ?? [])] as Obj[]);
    const dims = vi?.type?.tensor_type?.shape?.dim as Obj[] | undefined;
    if (!dims?.length) return;
    const d = dims[rng.int(0, dims.length)]!;
    if (rng.float() < 0.3) { delete d.dim_value; d.dim_param = "fuzz_dim"; } else { delete d.dim_param; d.dim_value = pick(rng, WEIRD_DIMS); }
  },
  dropRank: (m, rng) => {
    const vi = pick(rng, (m.graph?.input ?? []) as Obj[]);
    const dims = vi?.type?.tensor_type?.shape?.dim as Obj[] | undefined;
    if (dims?.length) dims.splice(rng.int(0, dims.length), 1);
  },
  wrongDtype: (m, rng) => {
    const choices: Obj[] = [...(m.graph?.initializer ?? []), ...(m.graph?.input ?? []), ...(m.graph?.output ?? [])];
    const x = pick(rng, choices);
    if (!x) return;
    const t = rng.int(0, 21);
    if (x.type?.tensor_type) x.type.tensor_type.elem_type = t;
    else x.data_type = t;
  },
  corruptRawData: (m, rng) => {
    const t = pick(rng, ((m.graph?.initializer ?? []) as Obj[]).filter((x) => x.raw_data?.length));
    if (t) t.raw_data = (t.raw_data as Uint8Array).slice(0, rng.int(0, t.raw_data.length));
  },
  cycle: (m, rng) => {
    const ns = nodes(m);
    if (!ns.length) return;
    const i = rng.int(0, ns.length), j = rng.int(i, ns.length);
    const out = pick(rng, (ns[j]!.output ?? []) as string[]);
    if (out && ns[i]!.input?.length) ns[i]!.input[rng.int(0, ns[i]!.input.length)] = out;
    else if (out) ns[i]!.input = [out];
  },
  reverseNodes: (m) => { nodes(m).reverse(); },
  duplicateNode: (m, rng) => {
    const ns = nodes(m);
    const n = pick(rng, ns);
    if (n) ns.splice(rng.int(0, ns.length + 1), 0, structuredClone(n));
  },
  dropAttributes: (m, rng) => {
    const n = pick(rng, nodes(m).filter((x) => x.attribute?.length));
    if (!n) return;
    if (rng.float() < 0.5) n.attribute.splice(rng.int(0, n.attribute.length), 1);
    else n.attribute = [];
  },
  mangleAttribute: (m, rng) => {
    const n = pick(rng, nodes(m).filter((x) => x.attribute?.length));
    const a = n && (pick(rng, n.attribute) as Obj);
    if (!a) return;
    a.type = rng.int(0, 15);
    if (rng.float() < 0.5) { a.ints = [rng.int(-5, 5), 2 ** 40]; a.f = NaN; }
  },
  tweakAttribute: (m, rng) => {
    const n = pick(rng, nodes(m).filter((x) => x.attribute?.length));
    const a = n && (pick(rng, n.attribute) as Obj);
    if (!a) return;
    if (a.i !== undefined) a.i = pick(rng, [-5, -1, 0, 1, 2, 7, 2 ** 40]);
    if (a.f !== undefined) a.f = pick(rng, [-1, 0, 0.5, 1e30, NaN, Infinity]);
    if (a.ints?.length) a.ints = a.ints.map(() => rng.int(-4, 5));
  },
  unknownOp: (m, rng) => {
    const ns = nodes(m);
    const n = pick(rng, ns);
    if (n && rng.float() < 0.5) { n.op_type = "LatheFuzzUnknownOp"; return; }
    const src = pick(rng, (m.graph?.input ?? []) as Obj[])?.name ?? "x";
    ns.push({ op_type: "LatheFuzzUnknownOp", input: [src], output: ["fuzz_out"], domain: rng.float() < 0.5 ? "" : "com.fuzz" });
    graphOf(m).output = [...(graphOf(m).output ?? []), { name: "fuzz_out" }];
  },
  changeOpType: (m, rng) => {
    const n = pick(rng, nodes(m));
    if (n) n.op_type = pick(rng, ["Relu", "Add", "Gemm", "Conv", "Reshape", "Softmax", "Concat", "Split", "Clip", "Where", "Cast", "Gather"]);
  },
  renameInput: (m, rng) => {
    const n = pick(rng, nodes(m));
    if (n?.input?.length) n.input[rng.int(0, n.input.length)] = "no_such_value";
  },
  dropInputs: (m, rng) => {
    const n = pick(rng, nodes(m));
    if (n) n.input = (n.input ?? []).slice(0, rng.int(0, (n.input ?? []).length));
  },
  emptyGraph: (m, rng) => {
    const r = rng.int(0, 3);
    if (r === 0) graphOf(m).node = [];
    else if (r === 1) m.graph = {};
    else delete m.graph;
  },
  dropOutputs: (m) => { if (m.graph) m.graph.output = []; },
  changeOpset: (m, rng) => { m.opset_import = [{ domain: "", version: pick(rng, [0, 1, 5, 6, 7, 11, 13, 17, 18, 99]) }]; },
};

interface FuzzCase {
  readonly index: number;
  readonly seed: string;
  readonly mutations: readonly string[];
  readonly bytes: Uint8Array;
}

/** Case `index` of the run: its own PRNG stream, so any case reproduces alone. */
function makeCase(index: number, seedBytes: readonly Uint8Array[]): FuzzCase {
  const rng = new Rng(MASTER_SEED + index * 7919);
  const s = rng.int(0, SEEDS.length);
  let bytes = seedBytes[s]!;
  const mutations: string[] = [];
  const structured = rng.float() < 0.6;
  const count = rng.int(1, 4);
  if (structured) {
    const m = decode(bytes);
    for (let k = 0; k < count; k++) {
      const name = pick(rng, Object.keys(modelMutations))!;
      mutations.push(name);
      modelMutations[name]!(m, rng);
    }
    bytes = encode(m);
  }
  // Structured mutations alone keep the protobuf well-formed; bytes go after them (sometimes).
  if (!structured || rng.float() < 0.2) {
    const name = pick(rng, Object.keys(byteMutations))!;
    mutations.push(name);
    bytes = byteMutations[name]!(bytes, rng);
  }
  return { index, seed: SEEDS[s]!, mutations, bytes };
}

interface Crash { readonly c: FuzzCase; readonly stage: string; readonly error: unknown }

const describeCrash = ({ c, stage, error }: Crash): string =>
  `case ${c.index} (FUZZ_CASE=${c.index}) seed ${c.seed}, mutations [${c.mutations.join(", ")}], ${stage}: ` +
  (error instanceof Error ? `${error.name}: ${error.message}\n${(error.stack ?? "").split("\n").slice(1, 5).join("\n")}` : String(error));

/** Random inputs for the model's runtime inputs (symbolic dims get 2), or null when too large to run. */
function inputsFor(model: ImportedModel, seed: number): Tensor[] | null {
  const shapes = model.inputs.map((i) => i.shape.map((d) => (typeof d === "number" ? d : 2)));
  if (shapes.some((s) => s.reduce((a, d) => a * d, 1) > MAX_RUN_ELEMENTS)) return null;
  return model.inputs.map((inp, k) => Tensor.random(shapes[k]!, inp.dtype, seed + k));
}

const missing = SEEDS.find((s) => !existsSync(join(TESTDATA_ROOT, s, "model.onnx")));

describe.skipIf(missing !== undefined)(`ONNX import fuzzing${missing ? ` (skipped: ${join(TESTDATA_ROOT, missing)} is missing; apt-get install libonnx-testdata)` : ""}`, () => {
  test(`${CASES} mutated models import+run or fail with a LatheError`, async () => {
    const seedBytes = SEEDS.map((s) => new Uint8Array(readFileSync(join(TESTDATA_ROOT, s, "model.onnx"))));
    const only = process.env.FUZZ_CASE;
    const indices = only !== undefined ? [Number(only)] : Array.from({ length: CASES }, (_, i) => i);
    const crashes: Crash[] = [];
    const guard = <T>(c: FuzzCase, stage: string, f: () => T): T | undefined => {
      try {
        return f();
      } catch (e) {
        if (!(e instanceof LatheError)) crashes.push({ c, stage, error: e });
        return undefined;
      }
    };

    const t0 = performance.now();
    const seconds = () => ((performance.now() - t0) / 1000).toFixed(1);
    const imported: { c: FuzzCase; model: ImportedModel; inputs: Tensor[] }[] = [];
    const stats = { imported: 0, interpreted: 0, compiled: 0, tooLarge: 0 };
    for (const index of indices) {
      const c = makeCase(index, seedBytes);
      const model = guard(c, "import", () => importOnnx(c.bytes));
      if (!model) continue;
      stats.imported++;
      const inputs = guard(c, "inputs", () => inputsFor(model, index));
      if (inputs === null) { stats.tooLarge++; continue; }
      if (!inputs) continue;
      imported.push({ c, model, inputs });
      const ran = guard(c, "interpret", () => interpret(model.graph, inputs.map((t) => ({ data: dataToNumbers(t.dtype, t.data), shape: t.shape }))));
      if (ran) stats.interpreted++;
    }

    const importSeconds = seconds();
    // Compile one representative of each distinct graph (constants are arguments, so data does not matter).
    const distinct = new Map<string, (typeof imported)[number]>();
    for (const x of imported) {
      const key = guard(x.c, "print", () => printGraph(x.model.graph));
      if (key !== undefined && !distinct.has(key) && distinct.size < COMPILE_CAP) distinct.set(key, x);
    }
    const chosen = [...distinct.values()];
    const compiled = await compileGraphsSettled(chosen.map((x) => x.model.graph), { batchSize: 48 });
    compiled.forEach((r, k) => {
      const x = chosen[k]!;
      if (!r.ok) {
        if (!(r.error instanceof LatheError)) crashes.push({ c: x.c, stage: "compile", error: r.error });
        return;
      }
      stats.compiled++;
      guard(x.c, "run", () => r.compiled.run(x.inputs));
    });

    console.log(`ONNX fuzz: ${indices.length} cases, ${stats.imported} imported, ${stats.interpreted} interpreted, ` +
      `${stats.compiled} compiled and run natively (${distinct.size} distinct graphs, cap ${COMPILE_CAP}), ${stats.tooLarge} too large to run; ` +
      `import+interpret ${importSeconds} s, total ${seconds()} s`);
    expect(crashes.map(describeCrash)).toEqual([]);
    if (only === undefined) expect(stats.imported, "some mutated models should still import").toBeGreaterThan(0);
  }, 300_000);
});
