/**
 * Differential fuzzing of the VTA target on its int8 subset (issue 23): random float chains
 * of convolutions (channels, kernel, stride, padding; ReLU or not) and dense layers with
 * constant weights are quantized by the quantize pass (calibrated on two random batches),
 * then every qconv2d/qmatmul + requantize runs on the accelerator — the functional simulator,
 * or Verilator's simulation of the generated RTL — and the outputs must equal the reference
 * interpreter on the quantized graph bit for bit (the quant ops' compute rules are the
 * accelerator's exact semantics). A recipe shrinks like the graph fuzzer's: fewer layers,
 * smaller parameters.
 */
import fc from "fast-check";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph, Value } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { quantizeGraph } from "../../compiler/graph/passes/quantize.ts";
import { runQuantizedGraph } from "../../compiler/targets/vta/run.ts";
import { Rng } from "../../runtime/random.ts";
import type { Outcome } from "./differential.ts";

export interface VtaLayer {
  readonly kind: "conv" | "dense";
  /** Output channels / features: 1 + out. */
  readonly out: number;
  readonly k: number;
  readonly stride: number;
  readonly pad: number;
  readonly relu: boolean;
}

export interface VtaRecipe {
  readonly batch: number;
  readonly channels: number;
  readonly size: number;
  readonly layers: readonly VtaLayer[];
  readonly vthreads: 1 | 2;
  readonly seed: number;
}

const layerFields = {
  kind: fc.constantFrom<"conv" | "dense">("conv", "conv", "dense"),
  out: fc.nat({ max: 31 }),
  k: fc.nat({ max: 2 }),
  stride: fc.nat({ max: 1 }),
  pad: fc.nat({ max: 1 }),
  relu: fc.boolean(),
};
const layerArb: fc.Arbitrary<VtaLayer> = fc.record(layerFields);

export const vtaRecipeArb: fc.Arbitrary<VtaRecipe> = fc.record({
  batch: fc.constantFrom(1, 1, 2),
  channels: fc.integer({ min: 1, max: 16 }),
  size: fc.integer({ min: 3, max: 10 }),
  layers: fc.array(layerArb, { minLength: 1, maxLength: 3 }),
  vthreads: fc.constantFrom<1 | 2>(1, 2),
  seed: fc.nat({ max: 0xffff }),
});

/**
 * Tiny chains for the RTL sample in the test suite: Verilator simulates every cycle, so
 * fewer channels, smaller maps and at most two layers keep a chain to a fraction of a second.
 */
export const smallVtaRecipeArb: fc.Arbitrary<VtaRecipe> = fc.record({
  batch: fc.constant(1),
  channels: fc.integer({ min: 1, max: 8 }),
  size: fc.integer({ min: 3, max: 6 }),
  layers: fc.array(fc.record({ ...layerFields, out: fc.nat({ max: 15 }) }), { minLength: 1, maxLength: 2 }),
  vthreads: fc.constantFrom<1 | 2>(1, 2),
  seed: fc.nat({ max: 0xffff }),
});

export interface VtaCase {
  readonly recipe: VtaRecipe;
  /** The quantized graph (what runs). */
  readonly graph: Graph;
  readonly input: { readonly data: Float64Array; readonly shape: readonly number[] };
}

/** The float chain, quantized; null when the recipe leaves nothing to offload (a dense layer after a 0-sized map cannot happen: sizes stay ≥ 1). */
export function buildVtaCase(r: VtaRecipe): VtaCase {
  const rng = new Rng(r.seed);
  const b = new GraphBuilder();
  const inShape = [r.batch, r.channels, r.size, r.size];
  let x: Value = b.input("x", inShape);
  let shape = [...inShape];
  for (const l of r.layers) {
    const o = 1 + l.out;
    if (l.kind === "conv" && shape.length === 4) {
      const k = 1 + l.k, stride = 1 + l.stride, pad = Math.min(l.pad, k - 1);
      if (shape[2]! + 2 * pad < k || shape[3]! + 2 * pad < k) continue;
      const w = b.constant("w", Float32Array.from({ length: o * shape[1]! * k * k }, () => rng.normal() * 0.3), [o, shape[1]!, k, k]);
      x = b.op1("conv2d", [x, w], { strides: [stride, stride], pads: [pad, pad, pad, pad] });
      shape = x.type.shape as number[];
    } else {
      if (shape.length === 4) {
        x = b.op1("reshape", [x], { shape: [shape[0]!, shape[1]! * shape[2]! * shape[3]!] });
        shape = x.type.shape as number[];
      }
      const w = b.constant("w", Float32Array.from({ length: shape[1]! * o }, () => rng.normal() * 0.2), [shape[1]!, o]);
      x = b.op1("matmul", [x, w]);
      shape = x.type.shape as number[];
    }
    if (l.relu) x = b.op1("relu", [x]);
  }
  const g = b.build([x]);
  const n = inShape.reduce((p, q) => p * q, 1);
  const batch = () => [{ data: Float32Array.from({ length: n }, () => rng.uniform(-1, 1)), shape: inShape }];
  const { graph } = quantizeGraph(g, { calibration: [batch(), batch()] });
  return { recipe: r, graph, input: { data: Float64Array.from(batch()[0]!.data), shape: inShape } };
}

/** The accelerator (fsim or an RTL simulator) against the interpreter on the quantized graph: exact. */
export async function runVtaCase(c: VtaCase, sim: "fsim" | "verilator" = "fsim"): Promise<Outcome> {
  const want = interpret(c.graph, [c.input]).outputs[0]!;
  let got: Awaited<ReturnType<typeof runQuantizedGraph>>;
  try {
    got = await runQuantizedGraph(c.graph, [c.input], { vthreads: c.recipe.vthreads }, sim);
  } catch (e) {
    return { ok: false, stage: "run", detail: (e as Error).message.split("\n")[0]! };
  }
  const out = got.outputs[0]!;
  if (out.shape.join(",") !== want.shape.join(",")) return { ok: false, stage: "compare", detail: `shape [${out.shape.join(", ")}], the interpreter's is [${want.shape.join(", ")}]` };
  for (let i = 0; i < want.data.length; i++) {
    if (out.data[i] !== want.data[i]) return { ok: false, stage: "compare", detail: `output[${i}]: ${out.data[i]}, the interpreter gives ${want.data[i]} (exact)` };
  }
  if (got.layers.length === 0) return { ok: true, unsupported: "nothing was offloaded" };
  return { ok: true };
}

export interface VtaFuzzReport {
  readonly sim: "fsim" | "verilator";
  /** Draws from the seed (all of them; a shard runs every count-th, see `shard`). */
  readonly graphs: number;
  readonly layersOffloaded: number;
  readonly failures: readonly { readonly index: number; readonly detail: string; readonly shrunk: VtaRecipe }[];
  /** Set on one shard's report: it ran draws i with i % count === index. */
  readonly shard?: { readonly index: number; readonly count: number };
}

/** The recipe's case, or a failure at the build stage (the quantize pass refusing the chain is one). */
function buildOutcome(r: VtaRecipe): VtaCase | Outcome {
  try {
    return buildVtaCase(r);
  } catch (e) {
    return { ok: false, stage: "compile", detail: `building the quantized chain: ${(e as Error).message.split("\n")[0]}` };
  }
}

/**
 * `graphs` recipes from `seed` (drawn from `arb`) on `sim`; failures shrunk (fast-check
 * replays the draw by its path in the same arbitrary). With `shard`, only draws i with
 * i % count === index run (scripts/fuzz.ts --jobs), each keeping its index and recipe.
 */
export async function fuzzVta(
  graphs: number, seed: number, sim: "fsim" | "verilator", log: (s: string) => void = () => {}, arb: fc.Arbitrary<VtaRecipe> = vtaRecipeArb,
  shard?: { readonly index: number; readonly count: number },
): Promise<VtaFuzzReport> {
  const recipes = fc.sample(arb, { seed, numRuns: graphs });
  let layersOffloaded = 0, ran = 0;
  const failures: { index: number; detail: string; shrunk: VtaRecipe }[] = [];
  for (let i = 0; i < recipes.length; i++) {
    if (shard && i % shard.count !== shard.index) continue;
    ran++;
    const built = buildOutcome(recipes[i]!);
    if ("graph" in built) layersOffloaded += built.graph.nodes.filter((n) => n.op === "qconv2d" || n.op === "qmatmul").length;
    const out = "graph" in built ? await runVtaCase(built, sim) : built;
    if (out.ok) continue;
    const res = await fc.check(fc.asyncProperty(arb, async (r) => {
      const c = buildOutcome(r);
      return "graph" in c ? (await runVtaCase(c, sim)).ok : c.ok;
    }), { seed, path: String(i), numRuns: 1, interruptAfterTimeLimit: 300_000 });
    const shrunk = res.counterexample?.[0] ?? recipes[i]!;
    failures.push({ index: i, detail: out.detail, shrunk });
    log(`FAIL vta-${sim} #${i}: ${out.detail}\n  shrunk: ${JSON.stringify(shrunk)}`);
  }
  log(`vta-${sim}: ${ran} graphs, ${layersOffloaded} layers offloaded, ${failures.length} failed`);
  return { sim, graphs, layersOffloaded, failures, ...(shard ? { shard } : {}) };
}
