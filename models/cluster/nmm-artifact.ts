/**
 * A fitted neural mixture model as a graph and as an artifact that `lathe run` executes:
 *
 *   x: f32[n, d]  →  network (inference form)  →  log s  →  log(π p) = log s + b
 *     → labels: i32[n] (argmax, the first on ties), posteriors: f32[n, K] (softmax)
 *
 * with every weight and b_k = log π_k − log Z_k (Z_k = Σ over the training points of s_k,
 * the equal-mass normaliser fixed after training) baked in as constants, so the artifact
 * needs nothing but x. `stageArtifact` compiles it and keeps the artifact's files in
 * memory, so that a synchronous `save` can write them later; `writeStagedArtifact` writes
 * them under a name derived from their content (manifest last, each file atomically).
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LatheError } from "../../core/errors.ts";
import type { Constant, Graph } from "../../compiler/graph/graph.ts";
import type { CompiledGraph } from "../../compiler/targets/cpu/graph.ts";
import { writeArtifact } from "../../compiler/targets/cpu/artifact.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { MANIFEST_FILE } from "../../runtime/artifact.ts";
import type { Tracer } from "../../train/lt.ts";
import { lt } from "../../train/lt.ts";
import type { Layer } from "../../train/nn/module.ts";
import { applyLayer } from "../../train/nn/module.ts";
import type { NmmTransform } from "./nmm-objective.ts";
import { logScores } from "./nmm-objective.ts";

export const ARTIFACT_INPUTS = ["x"] as const;
export const ARTIFACT_OUTPUTS = ["labels", "posteriors"] as const;

/**
 * The traced graph of `fn` on x f32["n", d] with the parameters it reads turned into
 * constants holding their current values.
 */
export function bakedGraph(d: number, fn: (x: Tracer) => readonly Tracer[]): Graph {
  const { graph, trace } = lt.trace(() => fn(lt.input("x", ["n", d], "f32")));
  const baked: Constant[] = [...trace.params].map(([p, v]) => ({ value: v, data: p.value.data }));
  const isParam = new Set(baked.map((c) => c.value));
  return { ...graph, inputs: graph.inputs.filter((v) => !isParam.has(v)), constants: [...graph.constants, ...baked] };
}

/** The inference graph: labels and posteriors from x, weights and the bias b baked in. */
export function inferenceGraph(net: Layer, d: number, transform: NmmTransform, bias: Float32Array): Graph {
  return bakedGraph(d, (x) => {
    const logJoint = logScores(applyLayer(net, x), transform).add(lt.constant(bias, [bias.length], "f32", "nmm.bias"));
    return [logJoint.argmax(1), logJoint.softmax(-1)];
  });
}

/** An artifact's files, held in memory until a model is saved. */
export interface StagedArtifact {
  /** File name → bytes; the manifest is written last. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The manifest's own checksum: names the directory it is saved in. */
  readonly manifestSha256: string;
}

/** Writes `compiled` as an artifact into a temporary directory and reads its files back. */
export async function stageArtifact(compiled: CompiledGraph, meta: Readonly<Record<string, string | number>>): Promise<StagedArtifact> {
  const dir = mkdtempSync(path.join(tmpdir(), "lathe-nmm-"));
  try {
    const manifest = await writeArtifact(compiled, dir, { meta, names: { inputs: [...ARTIFACT_INPUTS], outputs: [...ARTIFACT_OUTPUTS] } });
    const files = new Map<string, Uint8Array>(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f))]));
    return { files, manifestSha256: manifest.manifestSha256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The artifact's directory name inside a saved model. */
export const artifactDirName = (sha: string): string => `network-${sha.slice(0, 8)}`;
export const ARTIFACT_DIR_PATTERN = /^network-[0-9a-f]{8}$/;

/** Writes the staged files into `modelDir/network-<sha8>/` (manifest last); returns that name. */
export function writeStagedArtifact(staged: StagedArtifact, modelDir: string): string {
  const name = artifactDirName(staged.manifestSha256);
  const dir = path.join(modelDir, name);
  const manifest = staged.files.get(MANIFEST_FILE);
  if (!manifest) throw new LatheError(`nmm: the staged artifact has no ${MANIFEST_FILE}`);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LatheError(`cannot create ${dir}: ${(e as Error).message}`);
  }
  for (const [f, bytes] of staged.files) if (f !== MANIFEST_FILE) writeFileAtomic(path.join(dir, f), bytes);
  writeFileAtomic(path.join(dir, MANIFEST_FILE), manifest);
  return name;
}

/** Reads an artifact directory's files (to save a loaded model elsewhere). */
export function readArtifactFiles(dir: string, manifestSha256: string): StagedArtifact {
  return { files: new Map(readdirSync(dir).map((f) => [f, readFileSync(path.join(dir, f))])), manifestSha256 };
}

/** Removes the network-* directories of `modelDir` other than `keep` (left by earlier saves). */
export function removeStaleArtifacts(modelDir: string, keep: string): void {
  for (const f of readdirSync(modelDir)) {
    if (ARTIFACT_DIR_PATTERN.test(f) && f !== keep) rmSync(path.join(modelDir, f), { recursive: true, force: true });
  }
}
