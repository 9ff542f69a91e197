/**
 * Checks tensors against a graph's input signature (count, dtype, rank, static and
 * symbolic dimensions) and gives the concrete output shapes; shared by compiled graphs
 * and loaded artifacts, so both report a wrong input the same way.
 */
import { ShapeError } from "../core/errors.ts";
import type { Dim, ValueSpec } from "../core/tensor-type.ts";
import type { Tensor } from "./tensor.ts";

/** Binds symbolic dimensions from the inputs' concrete shapes; a conflict names the input and dimension. */
export function bindDims(values: readonly ValueSpec[], shapes: readonly (readonly number[])[]): Map<string, number> {
  const sizes = new Map<string, number>();
  values.forEach((v, k) => {
    const shape = shapes[k]!;
    if (shape.length !== v.type.shape.length) {
      throw new ShapeError(`input ${v.name}: expected ${v.type.shape.length} dimensions [${v.type.shape.join(", ")}], got [${shape.join(", ")}]`);
    }
    v.type.shape.forEach((d, i) => {
      const n = shape[i]!;
      if (typeof d === "number") {
        if (d !== n) throw new ShapeError(`input ${v.name}: dimension ${i} must be ${d}, got ${n}`);
      } else if (sizes.has(d) && sizes.get(d) !== n) {
        throw new ShapeError(`input ${v.name}: dimension ${i} (${d}) is ${n}, but ${d} = ${sizes.get(d)} from an earlier input`);
      } else sizes.set(d, n);
    });
  });
  return sizes;
}

const spell = (shape: readonly Dim[]) => `[${shape.join(", ")}]`;

/** Returns the symbolic dimensions' sizes; a ShapeError names the offending input. */
export function checkInputs(specs: readonly ValueSpec[], inputs: readonly Tensor[]): Map<string, number> {
  if (!Array.isArray(inputs) || inputs.length !== specs.length) {
    const got = Array.isArray(inputs) ? inputs.length : String(inputs);
    throw new ShapeError(`graph takes ${specs.length} inputs (${specs.map((v) => v.name).join(", ")}), got ${got}`);
  }
  specs.forEach((v, i) => {
    const t = inputs[i];
    if (typeof t !== "object" || t === null || !Array.isArray(t.shape)) throw new ShapeError(`input ${v.name}: expected a Tensor, got ${String(t)}`);
    if (t.dtype !== v.type.dtype) throw new ShapeError(`input ${v.name}: expected dtype ${v.type.dtype}${spell(v.type.shape)}, got ${t.dtype}[${t.shape.join(", ")}]`);
  });
  return bindDims(specs, inputs.map((t) => t.shape));
}

/** Concrete shapes of `specs` once the symbolic dimensions are bound. */
export function concreteShapes(specs: readonly ValueSpec[], dims: ReadonlyMap<string, number>): number[][] {
  return specs.map((v) => v.type.shape.map((d) => {
    if (typeof d === "number") return d;
    const n = dims.get(d);
    if (n === undefined) throw new ShapeError(`${v.name}: symbolic dimension ${d} is not bound by any input`);
    return n;
  }));
}

/** Checks caller-provided output tensors against the expected dtypes and shapes. */
export function checkOutputs(specs: readonly ValueSpec[], shapes: readonly number[][], outputs: readonly Tensor[]): void {
  if (outputs.length !== specs.length) throw new ShapeError(`expected ${specs.length} output tensors (${specs.map((v) => v.name).join(", ")}), got ${outputs.length}`);
  outputs.forEach((t, i) => {
    const want = shapes[i]!, v = specs[i]!;
    if (t.dtype !== v.type.dtype || t.shape.length !== want.length || t.shape.some((d, k) => d !== want[k])) {
      throw new ShapeError(`output ${v.name}: expected ${v.type.dtype}[${want.join(", ")}], got ${t.dtype}[${t.shape.join(", ")}]`);
    }
  });
}
