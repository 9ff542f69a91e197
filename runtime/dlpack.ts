/** DLPack-style dtype descriptors, as LatheDType in native/include/lathe_rt.h. */
import { bytesOf, type DType } from "../core/dtype.ts";

export const LATHE_INT = 0;
export const LATHE_UINT = 1;
export const LATHE_FLOAT = 2;
export const LATHE_BOOL = 6;

export interface NativeDType {
  readonly code: number;
  readonly bits: number;
  readonly lanes: number;
}

const CODES: Record<DType, number> = {
  f16: LATHE_FLOAT, f32: LATHE_FLOAT, f64: LATHE_FLOAT,
  i8: LATHE_INT, i32: LATHE_INT, i64: LATHE_INT,
  u8: LATHE_UINT, bool: LATHE_BOOL,
};

/** The C ABI descriptor for a scalar dtype (bool is stored as one byte). */
export function nativeDType(t: DType, lanes = 1): NativeDType {
  return { code: CODES[t], bits: bytesOf(t) * 8, lanes };
}
