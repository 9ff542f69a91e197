/**
 * Reads params.bin (the format runtime/artifact.ts defines and encodeParams writes) without
 * Node APIs, for the browser runtime. Errors name the file (`where`).
 */
import type { DType, TypedArray } from "../../core/dtype.ts";
import { bytesOf, isDType, typedArrayFor } from "../../core/dtype.ts";
import { LatheError } from "../../core/errors.ts";

/** params.bin: magic, format version (u32), index length (u32), the JSON index, then the data (runtime/artifact.ts encodeParams). */
export const PARAMS_MAGIC = "LATHEPRM";
export const PARAMS_VERSION = 1;

export interface WebParam { readonly name: string; readonly dtype: DType; readonly shape: readonly number[]; readonly data: TypedArray }

export function decodeParamsWeb(bytes: Uint8Array, where: string): WebParam[] {
  const fail = (why: string): never => { throw new LatheError(`${where}: ${why}`); };
  if (bytes.length < 16 || new TextDecoder().decode(bytes.subarray(0, 8)) !== PARAMS_MAGIC) fail("not a Lathe parameters file (no LATHEPRM magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true), len = view.getUint32(12, true);
  if (version !== PARAMS_VERSION) fail(`parameters format version ${version} is not supported (this runtime reads ${PARAMS_VERSION})`);
  if (16 + len > bytes.length) fail("truncated index");
  let index: unknown;
  try { index = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + len))); } catch (e) { fail(`malformed index: ${(e as Error).message}`); }
  if (!Array.isArray(index)) return fail("malformed index: not an array");
  return index.map((e: unknown, i) => {
    const r = e as Record<string, unknown>;
    const shape = r.shape as number[];
    if (typeof r.name !== "string" || typeof r.dtype !== "string" || !isDType(r.dtype) || !Array.isArray(shape) ||
        !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !Number.isSafeInteger(r.offset) || !Number.isSafeInteger(r.bytes)) {
      return fail(`malformed index entry ${i}`);
    }
    const dtype = r.dtype, offset = r.offset as number, n = shape.reduce((a, b) => a * b, 1);
    if (r.bytes !== n * bytesOf(dtype)) fail(`parameter ${r.name}: ${r.bytes as number} bytes for ${dtype}[${shape.join(", ")}]`);
    if (offset < 16 + len || offset + n * bytesOf(dtype) > bytes.length) fail(`parameter ${r.name}: data lies outside the file (truncated?)`);
    const data = typedArrayFor(dtype, n);
    new Uint8Array(data.buffer, data.byteOffset, data.byteLength).set(bytes.subarray(offset, offset + data.byteLength));
    return { name: r.name, dtype, shape, data };
  });
}
