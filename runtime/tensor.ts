/** Host tensors: a dtype, a shape and a typed array holding the elements row-major. */
import { ShapeError } from "../core/errors.ts";
import { isDType, typedArrayFor, wrapTo, type DType, type TypedArray } from "../core/dtype.ts";
import { f16FromBits, f16ToBits } from "../core/f16.ts";
import { Rng } from "./random.ts";
import { checkShape, compactStrides, shapeSize } from "./shape.ts";
import { checkArrayFor } from "./typed-array.ts";

/** Range of Tensor.random values: [low, high). */
export interface RandomRange {
  readonly low: number;
  readonly high: number;
}

/** Defaults keep products and sums of random ints far from overflow in tests. */
const DEFAULT_RANGE: Record<DType, RandomRange> = {
  f16: { low: -1, high: 1 }, f32: { low: -1, high: 1 }, f64: { low: -1, high: 1 },
  i8: { low: -8, high: 8 }, i32: { low: -8, high: 8 }, i64: { low: -8, high: 8 },
  u8: { low: 0, high: 16 }, bool: { low: 0, high: 2 },
};

function checkDType(dtype: DType): void {
  if (typeof dtype !== "string" || !isDType(dtype)) throw new ShapeError(`unknown dtype ${String(dtype)}`);
}

function allocate(dtype: DType, shape: readonly number[]): TypedArray {
  checkDType(dtype);
  checkShape(shape);
  const n = shapeSize(shape);
  try {
    return typedArrayFor(dtype, n);
  } catch (e) {
    throw new ShapeError(`cannot allocate ${n} elements of ${dtype} for shape [${shape.join(", ")}]: ${(e as Error).message}`);
  }
}

/** Stores a JS number as the element type would hold it (C conversion for ints, IEEE rounding for floats). */
function store(data: TypedArray, dtype: DType, i: number, v: number): void {
  if (dtype === "f16") data[i] = f16ToBits(v);
  else if (dtype === "i64") (data as BigInt64Array)[i] = BigInt(wrapTo("i64", v));
  else if (dtype === "f32" || dtype === "f64") data[i] = v;
  else data[i] = wrapTo(dtype, v);
}

function load(data: TypedArray, dtype: DType, i: number): number {
  if (dtype === "f16") return f16FromBits(data[i] as number);
  return Number(data[i]);
}

export class Tensor {
  readonly strides: readonly number[];

  /** Wraps `data` without copying; it must be the dtype's typed array with exactly one element per index. */
  constructor(readonly data: TypedArray, readonly shape: readonly number[], readonly dtype: DType) {
    checkDType(dtype);
    checkShape(shape);
    checkArrayFor(dtype, data, "Tensor");
    if (data.length !== shapeSize(shape)) {
      throw new ShapeError(`shape [${shape.join(", ")}] has ${shapeSize(shape)} elements but the data has ${data.length}`);
    }
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(compactStrides(shape));
  }

  /** Copies `values` (row-major) into a new tensor, converting each to the dtype. */
  static fromArray(values: ArrayLike<number>, shape: readonly number[], dtype: DType = "f32"): Tensor {
    const data = allocate(dtype, shape);
    if (values.length !== data.length) {
      throw new ShapeError(`shape [${shape.join(", ")}] has ${data.length} elements but ${values.length} values were given`);
    }
    for (let i = 0; i < data.length; i++) store(data, dtype, i, values[i]!);
    return new Tensor(data, shape, dtype);
  }

  static zeros(shape: readonly number[], dtype: DType = "f32"): Tensor {
    return new Tensor(allocate(dtype, shape), shape, dtype);
  }

  /**
   * Deterministic uniform values in [low, high): floats in [-1, 1), signed ints in
   * [-8, 8), u8 in [0, 16), bool 0/1 unless `range` says otherwise.
   */
  static random(shape: readonly number[], dtype: DType = "f32", seed = 0, range?: RandomRange): Tensor {
    const data = allocate(dtype, shape);
    const { low, high } = range ?? DEFAULT_RANGE[dtype];
    if (!(Number.isFinite(low) && Number.isFinite(high) && low < high)) {
      throw new ShapeError(`random range needs finite low < high, got [${low}, ${high})`);
    }
    const rng = new Rng(seed);
    const integral = dtype !== "f16" && dtype !== "f32" && dtype !== "f64";
    for (let i = 0; i < data.length; i++) {
      store(data, dtype, i, integral ? rng.int(Math.ceil(low), Math.ceil(high)) : rng.uniform(low, high));
    }
    return new Tensor(data, shape, dtype);
  }

  get size(): number {
    return this.data.length;
  }

  get ndim(): number {
    return this.shape.length;
  }

  /** Elements row-major as JS numbers (f16 decoded, i64 converted). */
  toArray(): number[] {
    const out = new Array<number>(this.data.length);
    for (let i = 0; i < out.length; i++) out[i] = load(this.data, this.dtype, i);
    return out;
  }

  /** The element at a full index. */
  get(...idx: number[]): number {
    if (idx.length !== this.shape.length) {
      throw new ShapeError(`index [${idx.join(", ")}] has ${idx.length} entries for a ${this.shape.length}-d tensor`);
    }
    let offset = 0;
    idx.forEach((x, d) => {
      if (!Number.isInteger(x) || x < 0 || x >= this.shape[d]!) {
        throw new ShapeError(`index [${idx.join(", ")}] is out of bounds for shape [${this.shape.join(", ")}]`);
      }
      offset += x * this.strides[d]!;
    });
    return load(this.data, this.dtype, offset);
  }
}
