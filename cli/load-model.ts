/**
 * Model files for `lathe compile` and `lathe inspect`: a Lathe graph text file (any
 * extension; `.lg` by convention) or an ONNX model (`.onnx`), turned into a graph and
 * run through the standard graph passes.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { LatheError } from "../core/errors.ts";
import type { Graph } from "../compiler/graph/graph.ts";
import { runGraphPasses, standardGraphPasses } from "../compiler/graph/passes/index.ts";
import type { GraphPassOptions } from "../compiler/graph/passes/pass.ts";
import { parseGraph } from "../compiler/graph/text/parse.ts";
import type { TypedArray } from "../core/dtype.ts";
import { readNpy } from "../runtime/npy.ts";

export interface LoadModelOptions {
  /** Sizes for symbolic input dimensions (ONNX dim_params), e.g. { batch: 1 }. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Graph text: data for `const` declarations without inline data, as .npy files by constant name. */
  readonly constFiles?: Readonly<Record<string, string>>;
  /** Dumps after graph passes (the pass manager's printAfter/log). */
  readonly passes?: GraphPassOptions;
}

export interface LoadedModel {
  readonly graph: Graph;
  /** Provenance for the artifact manifest. */
  readonly meta: Record<string, string | number>;
  /** The model's own input/output names where the graph's value names differ (ONNX). */
  readonly names?: { readonly inputs: readonly string[]; readonly outputs: readonly string[] };
}

/** `name=value` pairs from repeated options (commander's collector). */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

export function parsePairs(pairs: readonly string[], what: string): Record<string, string> {
  const out: [string, string][] = [];
  for (const p of pairs) {
    const m = /^([^=]+)=(.+)$/.exec(p);
    if (!m) throw new LatheError(`${what} must look like name=value, got "${p}"`);
    out.push([m[1]!.trim(), m[2]!.trim()]);
  }
  // fromEntries defines own properties: a name such as "__proto__" stays a name (and readers use hasOwn).
  return Object.fromEntries(out);
}

export function parseDims(pairs: readonly string[]): Record<string, number> {
  return Object.fromEntries(Object.entries(parsePairs(pairs, "--dim")).map(([k, v]) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n) || n < 0) throw new LatheError(`--dim ${k}=${v}: the size must be a non-negative integer`);
    return [k, n];
  }));
}

export async function loadModel(file: string, opts: LoadModelOptions = {}): Promise<LoadedModel> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new LatheError(`cannot read ${file}: ${(e as Error).message}`);
  }
  // One read: the bytes hashed into the manifest are the bytes imported (the file may change in between).
  const meta: Record<string, string | number> = { model: file, modelSha256: createHash("sha256").update(bytes).digest("hex") };
  let graph: Graph;
  let names: LoadedModel["names"];
  if (file.toLowerCase().endsWith(".onnx")) {
    // Loaded on demand: the text-graph path must not depend on the ONNX frontend. The bytes
    // already read (and hashed) go in, with the path to name the file in errors.
    const onnx = await import("../compiler/frontend/onnx/index.ts");
    const model = onnx.importOnnx(bytes, { ...(opts.dims ? { dims: opts.dims } : {}) }, file);
    graph = model.graph;
    meta.onnxOpset = model.opset;
    if (model.producer) meta.onnxProducer = model.producer;
    names = { inputs: model.inputs.map((v) => v.name), outputs: model.outputs.map((v) => v.name) };
  } else {
    if (opts.dims && Object.keys(opts.dims).length) throw new LatheError("--dim applies to ONNX models; a graph text file states its own dimensions");
    const constants = new Map<string, TypedArray>();
    for (const [name, npy] of Object.entries(opts.constFiles ?? {})) constants.set(name, readNpy(npy).data);
    graph = parseGraph(bytes.toString("utf8"), { source: file, constants });
  }
  return { graph: runGraphPasses(graph, standardGraphPasses, opts.passes ?? {}), meta, ...(names ? { names } : {}) };
}
