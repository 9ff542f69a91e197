/**
 * How Lathe's dtypes live in WGSL: the scalar type an expression has and the element
 * type a storage buffer holds. WGSL has no 8-bit or 64-bit integers and no bool in
 * storage, so those are widened to 32 bits in buffers (the runtime converts on upload
 * and readback; i64 values must fit in i32). f64 has no WGSL type at all.
 */
import { BuildError } from "../../../core/errors.ts";
import type { DType } from "../../../core/dtype.ts";

export type WgslScalar = "f32" | "f16" | "i32" | "u32" | "bool";
/** Element types of storage buffers. */
export type WgslStorage = "f32" | "f16" | "i32" | "u32";

export function valueType(t: DType, where: string): WgslScalar {
  switch (t) {
    case "f32": case "f16": case "i32": case "bool": return t;
    case "i64": case "i8": return "i32";
    case "u8": return "u32";
    case "f64": throw new BuildError(`${where}: f64 has no WGSL type (use f32)`);
  }
}

export function storageType(t: DType, where: string): WgslStorage {
  const v = valueType(t, where);
  return v === "bool" ? "u32" : v;
}

export const wgslType = (t: WgslScalar, lanes: number): string => {
  if (lanes === 1) return t;
  if (lanes > 4) throw new BuildError(`WGSL vectors have at most 4 lanes, got ${lanes} × ${t}`);
  return `vec${lanes}<${t}>`;
};
