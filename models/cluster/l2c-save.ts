/**
 * A trained L2C network as a directory, in the layout of model-dir.ts: `model.json`
 * ({ format: "lathe-cluster", version: 1, method: "l2c", k: k_max, d, arch, … }) and one
 * .npy per parameter, named after it. Arrays are written first, model.json last, each
 * atomically (writeNpy, writeFileAtomic), so a save stopped half way leaves the previous
 * model loadable. model-dir.ts's readModelManifest knows the fixed-k methods only, so
 * model.json is checked here; the arrays are read with its readModelArray (dtype, shape,
 * finite values). Every problem is a LatheError naming the file and the field.
 */
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { writeNpy } from "../../runtime/npy.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { MODEL_FORMAT, MODEL_MANIFEST, MODEL_VERSION, readModelArray, readModelJson } from "./model-dir.ts";
import type { L2cArch } from "./l2c-network.ts";
import { L2cNetwork } from "./l2c-network.ts";
import { L2cModel } from "./l2c.ts";

const ARCH_FIELDS = ["d", "kMax", "hidden", "layers", "countHidden", "countFc", "seed"] as const;

/** Writes `model` into `dir` (created if missing); `extra` fields (training summary) go into model.json. */
export function saveL2c(model: L2cModel, dir: string, extra: Readonly<Record<string, unknown>> = {}): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (e) {
    throw new LatheError(`cannot create the model directory ${dir}: ${(e as Error).message}`);
  }
  const params = model.net.parameters();
  for (const p of params) writeNpy(join(dir, `${p.name}.npy`), p.value);
  const { arch } = model.net;
  const json = { ...extra, format: MODEL_FORMAT, version: MODEL_VERSION, method: "l2c", k: arch.kMax, d: arch.d, arch, arrays: params.map((p) => p.name) };
  writeFileAtomic(join(dir, MODEL_MANIFEST), JSON.stringify(json, null, 2) + "\n");
}

/** Reads a model written by saveL2c. */
export function loadL2c(dir: string, exec: ExecOptions = {}): L2cModel {
  const { file, m } = readModelJson(dir);
  if (m["method"] !== "l2c") throw new LatheError(`${file}: holds a ${JSON.stringify(m["method"])} model, not l2c`);
  const a = m["arch"];
  if (typeof a !== "object" || a === null || Array.isArray(a)) throw new LatheError(`${file}: field "arch" must be an object`);
  const rec = a as Record<string, unknown>;
  for (const f of ARCH_FIELDS) {
    const v = rec[f];
    const ok = typeof v === "number" && Number.isSafeInteger(v) && (f === "seed" || f === "layers" ? true : v > 0) && (f === "layers" ? v >= 0 : true);
    if (!ok) throw new LatheError(`${file}: field "arch.${f}" must be ${f === "seed" ? "an integer" : f === "layers" ? "an integer ≥ 0" : "a positive integer"}, got ${JSON.stringify(v)}`);
  }
  const arch = Object.fromEntries(ARCH_FIELDS.map((f) => [f, rec[f]])) as unknown as L2cArch;
  const net = new L2cNetwork(arch);
  // The architecture fixes the parameters' names and shapes; each file must match.
  for (const p of net.parameters()) p.value = readModelArray(dir, p.name, p.dtype, p.shape);
  return new L2cModel(net, exec);
}

/** Whether `dir/model.json` reads as an L2C model's (so `lathe cluster --model DIR` takes the L2C path). */
export function isL2cModelDir(dir: string): boolean {
  try {
    const m: unknown = JSON.parse(readFileSync(join(dir, MODEL_MANIFEST), "utf8"));
    return typeof m === "object" && m !== null && (m as Record<string, unknown>)["method"] === "l2c";
  } catch {
    return false; // missing or unreadable: the ordinary path reports it
  }
}
