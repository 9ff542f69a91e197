import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { encodeIdx, parseIdx, readIdx } from "./idx.ts";

/** An IDX file written byte by byte from the format description, independent of encodeIdx. */
function handWritten(): Uint8Array {
  // u8, 3 dims [2, 2, 3], then 12 bytes.
  return Uint8Array.from([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3, 0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
}

describe("IDX", () => {
  test("parses a hand-written u8 file", () => {
    const t = parseIdx(handWritten());
    expect(t.dtype).toBe("u8");
    expect(t.shape).toEqual([2, 2, 3]);
    expect(t.toArray()).toEqual([0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    expect(t.get(1, 0, 2)).toBe(252);
  });

  test("parses big-endian i32 and f32 elements", () => {
    // i32 [2]: 0x00000102 = 258, 0xFFFFFFFF = -1
    expect(parseIdx(Uint8Array.from([0, 0, 0x0c, 1, 0, 0, 0, 2, 0, 0, 1, 2, 255, 255, 255, 255])).toArray()).toEqual([258, -1]);
    // f32 [1]: 0x3FC00000 = 1.5
    expect(parseIdx(Uint8Array.from([0, 0, 0x0d, 1, 0, 0, 0, 1, 0x3f, 0xc0, 0, 0])).toArray()).toEqual([1.5]);
  });

  test("reads a gzipped file written by the test, and round-trips encodeIdx", () => {
    const dir = mkdtempSync(join(tmpdir(), "lathe-idx-"));
    const path = join(dir, "tiny-idx1-ubyte.gz");
    writeFileSync(path, gzipSync(handWritten()));
    expect(readIdx(path).toArray()).toEqual(parseIdx(handWritten()).toArray());
    const f = Tensor.fromArray([1.25, -2, 3e-3, 7], [2, 2], "f64");
    const back = parseIdx(encodeIdx(f));
    expect(back.dtype).toBe("f64");
    expect(back.toArray()).toEqual([1.25, -2, 3e-3, 7]);
  });

  test("rejects bad magic, unknown types and wrong lengths", () => {
    expect(() => parseIdx(Uint8Array.from([1, 0, 8, 1, 0, 0, 0, 1, 5]))).toThrow(/bad magic/);
    expect(() => parseIdx(Uint8Array.from([0, 0, 0x42, 1, 0, 0, 0, 1, 5]))).toThrow(/unknown IDX element type 0x42/);
    expect(() => parseIdx(handWritten().subarray(0, 20), "t.idx")).toThrow(/t.idx: shape \[2, 2, 3\] needs 28 bytes, file has 20/);
    expect(() => parseIdx(handWritten().subarray(0, 20))).toThrow(LatheError);
  });
});
