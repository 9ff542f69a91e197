/**
 * NumPy .npy files (format versions 1.0, 2.0 and 3.0): little-endian, C order. The
 * header is a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces to a multiple of 64 bytes and ended by a newline.
 * Spec: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
import { readFileSync } from "node:fs";
import { LatheError } from "../core/errors.ts";
import type { DType } from "../core/dtype.ts";
import { bytesOf, typedArrayFor } from "../core/dtype.ts";
import { shapeSize } from "./shape.ts";
import { Tensor } from "./tensor.ts";
import { writeFileAtomic } from "./atomic-file.ts";

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** numpy type code (without byte order) ↔ Lathe dtype. A Map: the code comes from the file, and "constructor" must not find Object's. */
const FROM_NUMPY: ReadonlyMap<string, DType> = new Map([
  ["f2", "f16"], ["f4", "f32"], ["f8", "f64"], ["i1", "i8"], ["u1", "u8"], ["i4", "i32"], ["i8", "i64"], ["b1", "bool"],
]);
const TO_NUMPY: Record<DType, string> = {
  f16: "<f2", f32: "<f4", f64: "<f8", i8: "|i1", u8: "|u1", i32: "<i4", i64: "<i8", bool: "|b1",
};

/** Reads a .npy file into a tensor; `name` (the file) goes into every error message. */
export function readNpy(file: string): Tensor {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new LatheError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return decodeNpy(bytes, file);
}

export function decodeNpy(bytes: Uint8Array, name = "<npy>"): Tensor {
  const fail = (why: string): never => { throw new LatheError(`${name}: ${why}`); };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail("not a .npy file (no \\x93NUMPY magic)");
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, headerStart: number;
  if (major === 1) { headerLen = view.getUint16(8, true); headerStart = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) fail("truncated header");
    headerLen = view.getUint32(8, true); headerStart = 12;
  } else return fail(`unsupported .npy format version ${major}.${bytes[7]}`);
  if (headerStart + headerLen > bytes.length) fail("truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLen));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) fail(`malformed header ${JSON.stringify(header.trim())}`);
  if (fortran === "True") fail("fortran_order (column-major) arrays are not supported; save with np.ascontiguousarray");
  const order = descr![0]!, code = descr!.slice(1);
  if (order === ">") fail(`big-endian data ('${descr}') is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))`);
  const dtype = "<|=".includes(order) ? FROM_NUMPY.get(code) : undefined;
  if (dtype === undefined) fail(`unsupported dtype '${descr}' (supported: ${[...FROM_NUMPY.keys()].join(", ")})`);
  const shape = shapeText!.split(",").map((s) => s.trim()).filter(Boolean).map((s) => {
    const n = Number(s.replace(/L$/, ""));
    return Number.isSafeInteger(n) && n >= 0 ? n : fail(`bad dimension '${s}' in shape (${shapeText})`);
  });

  const count = shapeSize(shape);
  const dataStart = headerStart + headerLen;
  const need = count * bytesOf(dtype!);
  if (bytes.length - dataStart < need) {
    fail(`truncated data: shape [${shape.join(", ")}] of ${dtype} needs ${need} bytes, the file has ${bytes.length - dataStart}`);
  }
  const data = typedArrayFor(dtype!, count);
  // Copy: the file's data offset need not be aligned for the typed array.
  new Uint8Array(data.buffer, data.byteOffset, need).set(bytes.subarray(dataStart, dataStart + need));
  if (dtype === "bool") for (let i = 0; i < count; i++) if (data[i]! > 1) fail(`bool element ${i} is ${data[i]}, not 0 or 1`);
  return new Tensor(data, shape, dtype!);
}

/** The .npy bytes of a tensor (version 1.0, or 2.0 when the header needs more than 64 KiB). */
export function encodeNpy(t: Tensor): Uint8Array {
  const shape = t.shape.length === 1 ? `(${t.shape[0]},)` : `(${t.shape.join(", ")})`;
  const dict = `{'descr': '${TO_NUMPY[t.dtype]}', 'fortran_order': False, 'shape': ${shape}, }`;
  const version = dict.length + 11 + 64 > 0xffff ? 2 : 1;
  const prefix = version === 1 ? 10 : 12;
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + " ".repeat(total - prefix - dict.length - 1) + "\n";
  const data = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out = new Uint8Array(total + data.length);
  out.set(MAGIC, 0);
  out[6] = version; out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true); else view.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), prefix);
  out.set(data, total);
  return out;
}

/** Writes a tensor as a .npy file (atomically: a temporary file renamed into place). */
export function writeNpy(file: string, t: Tensor): void {
  writeFileAtomic(file, encodeNpy(t));
}
