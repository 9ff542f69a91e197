/**
 * The IDX file format of (Fashion-)MNIST: two zero bytes, a type code, the number of
 * dimensions, each dimension as a big-endian u32, then the elements big-endian,
 * row-major. Files ending in .gz are gunzipped first (node:zlib).
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { LatheError } from "../../core/errors.ts";
import type { DType } from "../../core/dtype.ts";
import { Tensor } from "../../runtime/tensor.ts";

/** IDX type code → element byte size, the Lathe dtype holding it, and a big-endian reader. */
const TYPES: Record<number, { bytes: number; dtype: DType; read: (v: DataView, at: number) => number }> = {
  0x08: { bytes: 1, dtype: "u8", read: (v, at) => v.getUint8(at) },
  0x09: { bytes: 1, dtype: "i8", read: (v, at) => v.getInt8(at) },
  0x0b: { bytes: 2, dtype: "i32", read: (v, at) => v.getInt16(at) }, // no i16 dtype: widened
  0x0c: { bytes: 4, dtype: "i32", read: (v, at) => v.getInt32(at) },
  0x0d: { bytes: 4, dtype: "f32", read: (v, at) => v.getFloat32(at) },
  0x0e: { bytes: 8, dtype: "f64", read: (v, at) => v.getFloat64(at) },
};

/** Parses IDX bytes; `what` names the source in errors. */
export function parseIdx(bytes: Uint8Array, what = "IDX data"): Tensor {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) throw new LatheError(`${what}: not an IDX file (bad magic number)`);
  const type = TYPES[bytes[2]!];
  if (!type) throw new LatheError(`${what}: unknown IDX element type 0x${bytes[2]!.toString(16)}`);
  const ndim = bytes[3]!;
  const header = 4 + 4 * ndim;
  if (bytes.length < header) throw new LatheError(`${what}: truncated header (${ndim} dimensions need ${header} bytes, file has ${bytes.length})`);
  const shape = Array.from({ length: ndim }, (_, k) => view.getUint32(4 + 4 * k));
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length !== header + n * type.bytes) {
    throw new LatheError(`${what}: shape [${shape.join(", ")}] needs ${header + n * type.bytes} bytes, file has ${bytes.length}`);
  }
  const t = Tensor.zeros(shape, type.dtype);
  if (type.bytes === 1 && type.dtype === "u8") (t.data as Uint8Array).set(bytes.subarray(header));
  else for (let i = 0; i < n; i++) t.data[i] = type.read(view, header + i * type.bytes);
  return t;
}

/** Reads an IDX file (gunzipping `.gz`). */
export function readIdx(path: string): Tensor {
  const raw = readFileSync(path);
  let bytes: Uint8Array = raw;
  if (path.endsWith(".gz")) {
    try { bytes = gunzipSync(raw); } catch (e) { throw new LatheError(`${path}: cannot gunzip: ${(e as Error).message}`); }
  }
  return parseIdx(bytes, path);
}

/** Encodes a tensor as IDX bytes (for tests and for writing subsets). */
export function encodeIdx(t: Tensor): Uint8Array {
  const code = t.dtype === "u8" ? 0x08 : t.dtype === "i8" ? 0x09 : t.dtype === "i32" ? 0x0c : t.dtype === "f32" ? 0x0d : t.dtype === "f64" ? 0x0e : -1;
  if (code < 0) throw new LatheError(`IDX cannot hold ${t.dtype}`);
  const type = TYPES[code]!, header = 4 + 4 * t.ndim;
  const out = new Uint8Array(header + t.size * type.bytes);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = t.ndim;
  t.shape.forEach((d, k) => view.setUint32(4 + 4 * k, d));
  const vals = t.toArray();
  for (let i = 0; i < t.size; i++) {
    const at = header + i * type.bytes;
    switch (code) {
      case 0x08: view.setUint8(at, vals[i]!); break;
      case 0x09: view.setInt8(at, vals[i]!); break;
      case 0x0c: view.setInt32(at, vals[i]!); break;
      case 0x0d: view.setFloat32(at, vals[i]!); break;
      default: view.setFloat64(at, vals[i]!);
    }
  }
  return out;
}
