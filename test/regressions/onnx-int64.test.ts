// int64 tensor data in a TensorProto's int64_data field was read through JS numbers, so
// INT64_MAX became 2^63 and wrapped to INT64_MIN in the BigInt64Array. It is read exactly now,
// and values a dtype's array cannot hold are one-line errors naming the initializer.
import protobuf from "protobufjs";
import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { importOnnx } from "../../compiler/frontend/onnx/import.ts";
import { decodeTensor, encodeModel, encodeTensor } from "../../compiler/frontend/onnx/proto.ts";
import type { TensorProto } from "../../compiler/frontend/onnx/proto.ts";
import { tensorFromProto } from "../../compiler/frontend/onnx/tensor.ts";
import { valueInfo } from "../../compiler/frontend/onnx/testing.ts";

const MAX = 2n ** 63n - 1n, MIN = -(2n ** 63n);
const VALUES = [MAX, MIN, MAX - 1n, 2n ** 53n + 1n, -(2n ** 53n) - 1n, 0n, -1n];
/** How protobufjs takes int64 values to encode exactly: Long objects (its verify rejects bigints and strings). */
const long = (v: bigint) => (protobuf.util.Long as unknown as { fromString(s: string): object }).fromString(v.toString());

/** A model y = x + w with w an i64 initializer given through int64_data. */
function modelWith(w: Partial<TensorProto>): Uint8Array {
  return encodeModel({
    ir_version: 8, opset_import: [{ domain: "", version: 13 }],
    graph: {
      name: "g", node: [{ op_type: "Add", input: ["x", "w"], output: ["y"], name: "add" }],
      input: [valueInfo("x", "i64", [VALUES.length])], output: [valueInfo("y", "i64", [VALUES.length])],
      initializer: [{ name: "w", dims: [VALUES.length], data_type: 7, ...w }],
    },
  });
}

const latheMessage = (f: () => unknown): string => {
  try { f(); } catch (e) { if (e instanceof LatheError) return e.message; throw e; }
  throw new Error("nothing was thrown");
};

describe("int64 tensor data is exact", () => {
  test("a TensorProto's int64_data decodes to exact bigints (INT64_MAX, INT64_MIN, 2^53 ± 1)", () => {
    const t = decodeTensor(encodeTensor({ dims: [VALUES.length], data_type: 7, int64_data: VALUES.map(long) as never }));
    expect(t.int64_data).toEqual(VALUES);
    expect(Array.from(tensorFromProto(t).data as BigInt64Array)).toEqual(VALUES);
  });

  test("an i64 initializer keeps INT64_MAX in the imported graph's constant", () => {
    const m = importOnnx(modelWith({ int64_data: VALUES.map(long) as never }), {}, "m.onnx");
    const w = m.graph.constants.find((c) => c.value.name === "w" || c.value.name.startsWith("w"))!;
    expect(w).toBeDefined();
    expect(w.data).toBeInstanceOf(BigInt64Array);
    expect(Array.from(w.data as BigInt64Array)).toEqual(VALUES);
  });

  test("dims and other int64 fields stay numbers", () => {
    const t = decodeTensor(encodeTensor({ dims: [2, 3], data_type: 7, int64_data: [1, 2, 3, 4, 5, 6] }));
    expect(t.dims).toEqual([2, 3]);
    expect(t.int64_data).toEqual([1n, 2n, 3n, 4n, 5n, 6n]);
  });

  test("values a hand-built proto cannot give exactly, or a dtype cannot hold, are one-line errors naming the initializer", () => {
    // A number beyond 2^53 is already rounded: refuse it rather than store a neighbour.
    expect(latheMessage(() => tensorFromProto({ name: "w", dims: [1], data_type: 7, int64_data: [2 ** 63] }, "initializer w")))
      .toBe("initializer w: int64_data[0] = 9223372036854776000 is not an exact integer (pass int64 values beyond 2^53 as bigint)");
    expect(latheMessage(() => tensorFromProto({ name: "w", dims: [1], data_type: 7, int64_data: [2n ** 63n] }, "initializer w")))
      .toBe("initializer w: int64_data[0] = 9223372036854775808 does not fit in int64");
    // int32_data carries u8/i8/bool/f16: out-of-range values used to wrap silently.
    const cases: [number, number, string][] = [[2, 300, "u8"], [3, -129, "i8"], [9, 2, "bool"], [10, 70000, "f16"]];
    for (const [type, v, dtype] of cases) {
      const msg = latheMessage(() => importOnnx(encodeModel({
        ir_version: 8, opset_import: [{ domain: "", version: 13 }],
        graph: {
          name: "g", node: [{ op_type: "Identity", input: ["c"], output: ["y"], name: "id" }], input: [], output: [valueInfo("y", dtype as never, [2])],
          initializer: [{ name: "c", dims: [2], data_type: type, int32_data: [0, v] }],
        },
      }), {}, "m.onnx"));
      expect(msg).toMatch(new RegExp(`^m\\.onnx: initializer c: int32_data\\[1\\] = ${v} does not fit in ${dtype}`));
      expect(msg).not.toMatch(/\n/);
    }
  });
});
