/**
 * loadModule: opens an ahead-of-time artifact (artifact.ts) and runs it. Everything is
 * verified before the library is opened: the manifest's own checksum, the size and
 * SHA-256 of the library and of the parameters, the parameters against the manifest's
 * list, and that this CPU has the instruction sets the library was compiled for.
 */
import path from "node:path";
import { LatheError } from "../core/errors.ts";
import type { ValueSpec } from "../core/tensor-type.ts";
import type { ArtifactManifest, TensorSpec } from "./artifact.ts";
import { PARAMS_FILE, decodeParams, readManifest, readVerified } from "./artifact.ts";
import { hostIsa } from "./host.ts";
import { NativeLibrary } from "./native.ts";
import { checkInputs, checkOutputs, concreteShapes } from "./signature.ts";
import { Tensor } from "./tensor.ts";

export interface LoadedModule {
  readonly dir: string;
  readonly manifest: ArtifactManifest;
  /** In call order; symbolic dimensions are strings, bound from the inputs on each run. */
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  /** Runs on inputs in manifest order; a wrong count, dtype or shape is a ShapeError naming the input. */
  run(inputs: readonly Tensor[]): Tensor[];
  /** The same, into caller-owned outputs of the right dtypes and shapes. */
  runInto(inputs: readonly Tensor[], outputs: readonly Tensor[]): void;
  setNumThreads(n: number): void;
  /** Unloads the library; later runs throw. */
  close(): void;
}

/** Values carrying a spec, so the signature checks shared with compiled graphs apply. */
const asValues = (specs: readonly TensorSpec[]): ValueSpec[] =>
  specs.map((s) => ({ name: s.name, type: { dtype: s.dtype, shape: [...s.shape] } }));

export function loadModule(dir: string): LoadedModule {
  const m = readManifest(dir);
  const missing = m.compile.isa.filter((f) => !hostIsa().includes(f));
  if (missing.length) {
    throw new LatheError(`${dir}: the artifact was compiled for a CPU with ${missing.join(", ")}, which this host lacks; recompile it here`);
  }
  readVerified(dir, m.library, "library");
  const paramsFile = path.join(dir, m.params.file || PARAMS_FILE);
  const params = decodeParams(readVerified(dir, m.params, "parameters"), paramsFile);
  if (params.length !== m.constants.length) throw new LatheError(`${paramsFile}: holds ${params.length} tensors, the manifest lists ${m.constants.length}`);
  params.forEach((p, i) => {
    const want = m.constants[i]!;
    if (p.name !== want.name || p.dtype !== want.dtype || p.shape.length !== want.shape.length || p.shape.some((d, k) => d !== want.shape[k])) {
      throw new LatheError(`${paramsFile}: tensor ${i} is ${p.name}: ${p.dtype}[${p.shape.join(", ")}], the manifest expects ${want.name}: ${want.dtype}[${want.shape.join(", ")}]`);
    }
  });
  const lib = NativeLibrary.open(path.join(dir, m.library.file));
  if (!lib.has(m.entry)) throw new LatheError(`${path.join(dir, m.library.file)}: the library has no entry point ${m.entry}`);
  const entry = lib.kernel(m.entry);
  const ins = asValues(m.inputs), outs = asValues(m.outputs);

  const runInto = (inputs: readonly Tensor[], outputs: readonly Tensor[]) => {
    const shapes = concreteShapes(outs, checkInputs(ins, inputs));
    checkOutputs(outs, shapes, outputs);
    entry.call([...inputs, ...params, ...outputs]);
  };
  return {
    dir, manifest: m, inputs: m.inputs, outputs: m.outputs,
    run(inputs) {
      const shapes = concreteShapes(outs, checkInputs(ins, inputs));
      const result = shapes.map((s, i) => Tensor.zeros(s, outs[i]!.type.dtype));
      runInto(inputs, result);
      return result;
    },
    runInto,
    setNumThreads: (n) => lib.setNumThreads(n),
    close: () => lib.close(),
  };
}
