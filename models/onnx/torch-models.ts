/**
 * Real architectures through the ONNX frontend: PyTorch (Debian's python3-torch and
 * python3-torchvision) exports a model with a reference input and its own output; Lathe
 * imports, compiles and runs it, and the two outputs are compared.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { importOnnx } from "../../compiler/frontend/onnx/index.ts";
import type { ImportedModel } from "../../compiler/frontend/onnx/index.ts";
import type { CompiledGraph } from "../../compiler/targets/cpu/graph.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { runGraphPasses, standardGraphPasses } from "../../compiler/graph/passes/index.ts";
import { readNpy } from "../../runtime/npy.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import { compile } from "../../compiler/driver/compile.ts";

export const PYTHON = "/usr/bin/python3";
const EXPORT_SCRIPT = fileURLToPath(new URL("./export_torch.py", import.meta.url));

/** Why PyTorch cannot be used here, or null when it can (torchvision too, when `vision`). */
export function torchUnavailable(vision = false): string | null {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  try {
    execFileSync(PYTHON, ["-c", vision ? "import torch, torchvision" : "import torch"], { stdio: "pipe" });
    return null;
  } catch {
    return `Debian's python3-torch${vision ? " and python3-torchvision" : ""} are not installed (apt-get install python3-torch${vision ? " python3-torchvision" : ""})`;
  }
}

export interface ExportedModel {
  readonly model: string;
  readonly input: Tensor;
  readonly output: Tensor;
}

/** Exports `name` (see export_torch.py) into `dir`, reusing an earlier export. */
export function exportTorchModel(name: string, dir: string, batch = 1): ExportedModel {
  mkdirSync(dir, { recursive: true });
  const base = join(dir, `${name}-b${batch}`);
  const files = { model: `${base}/${name}.onnx`, input: `${base}/${name}.input.npy`, output: `${base}/${name}.output.npy` };
  if (!Object.values(files).every((f) => existsSync(f))) {
    execFileSync(PYTHON, [EXPORT_SCRIPT, name, base, "--batch", String(batch)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OMP_NUM_THREADS: "1" } });
  }
  return { model: files.model, input: readNpy(files.input), output: readNpy(files.output) };
}

export interface Agreement {
  readonly maxAbs: number;
  /** Largest |a − e| / (|e| + atol). */
  readonly maxRel: number;
  readonly ok: boolean;
}

/** Elementwise agreement at rtol (relative to the expected value) with a small atol floor. */
export function agreement(actual: Tensor, expected: Tensor, rtol = 1e-3, atol = 1e-5): Agreement {
  const a = actual.toArray(), e = expected.toArray();
  let maxAbs = 0, maxRel = 0, ok = a.length === e.length;
  for (let i = 0; i < Math.min(a.length, e.length); i++) {
    const d = Math.abs(a[i]! - e[i]!);
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / (Math.abs(e[i]!) + atol));
    if (!(d <= atol + rtol * Math.abs(e[i]!))) ok = false;
  }
  return { maxAbs, maxRel, ok };
}

export interface CompiledTorchModel {
  readonly imported: ImportedModel;
  /** The imported graph after the standard graph passes (what `lathe compile` compiles; tuning logs key its tasks). */
  readonly graph: Graph;
  readonly compiled: CompiledGraph;
  readonly exported: ExportedModel;
}

export async function compileTorchModel(name: string, dir: string, batch = 1): Promise<CompiledTorchModel> {
  const exported = exportTorchModel(name, dir, batch);
  const imported = importOnnx(exported.model, { dims: { batch } });
  const graph = runGraphPasses(imported.graph, standardGraphPasses);
  const compiled = await compile(graph, "cpu");
  return { imported, graph, compiled, exported };
}
