/** Scalar element types. Vector types are expressed with `lanes` on expressions. */
export type DType = "f16" | "f32" | "f64" | "i8" | "u8" | "i32" | "i64" | "bool";

export const DTYPES: readonly DType[] = ["f16", "f32", "f64", "i8", "u8", "i32", "i64", "bool"];

export const isFloat = (t: DType): boolean => t === "f16" || t === "f32" || t === "f64";
export const isInt = (t: DType): boolean => t === "i8" || t === "u8" || t === "i32" || t === "i64";

export const bytesOf = (t: DType): number =>
  ({ f16: 2, f32: 4, f64: 8, i8: 1, u8: 1, i32: 4, i64: 8, bool: 1 })[t];

export function isDType(s: string): s is DType {
  return (DTYPES as readonly string[]).includes(s);
}

/** The type two operands are promoted to (float wins, then wider wins), as in NumPy for same-kind pairs. */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  const rank: Record<DType, number> = { bool: 0, u8: 1, i8: 2, i32: 3, i64: 4, f16: 5, f32: 6, f64: 7 };
  return rank[a] >= rank[b] ? a : b;
}

/** Wraps a JS number to the value a variable of this dtype would hold (C semantics for ints). */
export function wrapTo(t: DType, v: number): number {
  switch (t) {
    case "f64": return v;
    case "f32": return Math.fround(v);
    case "f16": return roundF16(v);
    case "i32": return Number.isFinite(v) ? Math.trunc(v) | 0 : 0;
    case "i64": return Number.isFinite(v) ? Math.trunc(v) : 0;
    case "i8": return Number.isFinite(v) ? (Math.trunc(v) << 24) >> 24 : 0;
    case "u8": return Number.isFinite(v) ? Math.trunc(v) & 0xff : 0;
    case "bool": return v !== 0 ? 1 : 0;
  }
}

const f16buf = new Float32Array(1);
const f16bits = new Uint32Array(f16buf.buffer);
/** Rounds to the nearest IEEE half (round-to-nearest-even), returned as a JS number. */
function roundF16(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const a = Math.abs(v);
  if (a >= 65520) return v > 0 ? Infinity : -Infinity;
  f16buf[0] = v;
  const exp = ((f16bits[0]! >>> 23) & 0xff) - 127;
  const quantum = 2 ** (Math.max(exp, -14) - 10);
  const q = a / quantum;
  let r = Math.round(q);
  if (Math.abs(q - Math.trunc(q) - 0.5) < 1e-12 && r % 2 === 1) r -= 1; // ties to even
  return Math.sign(v) * r * quantum;
}

/** The typed array class that stores a dtype in memory. */
export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Uint8Array | Int32Array | BigInt64Array | Uint16Array;

type ArrayClass = new (length: number) => TypedArray;

/** The typed array class that stores each dtype (f16 keeps raw IEEE half bits, bool one byte). */
export const ARRAY_CLASS: Readonly<Record<DType, ArrayClass>> = {
  f16: Uint16Array, f32: Float32Array, f64: Float64Array, i8: Int8Array,
  u8: Uint8Array, i32: Int32Array, i64: BigInt64Array, bool: Uint8Array,
};

export function typedArrayFor(t: DType, n: number): TypedArray {
  return new ARRAY_CLASS[t](n);
}
