// INT and INTS attributes are read exactly (issue 23): protobufjs's int64 → number conversion
// rounds above 2^53, so 2^53 + 1 used to arrive as 2^53. Now a value a number cannot hold is a
// one-line OnnxError naming the node and attribute, while INT64_MAX / INT64_MIN, the "no
// bound" sentinels of Slice's attribute bounds before opset 10, keep working.
import { describe, expect, it } from "vitest";
import { interpret } from "../../graph/interpret.ts";
import { importOnnx, OnnxError } from "./index.ts";
import type { AttributeProto, ModelProto } from "./proto.ts";
import { decodeModel, encodeModel } from "./proto.ts";
import { modelProto, valueInfo } from "./testing.ts";

const INT64_MAX = 2n ** 63n - 1n, INT64_MIN = -(2n ** 63n), BEYOND = 2n ** 53n + 1n;

/** One node `op` on x: [4, 3] → y, with exact attributes. */
function model(op: string, attribute: AttributeProto[], opset: number, yShape: (number | string)[] = ["a", "b"]): ModelProto {
  const m = modelProto({ inputs: [valueInfo("x", "f32", [4, 3])], outputs: [valueInfo("y", "f32", yShape)], nodes: [{ op, inputs: ["x"], outputs: ["y"], name: "n1" }], opset });
  m.graph!.node![0]!.attribute = attribute;
  return m;
}
const ints = (name: string, ...v: bigint[]): AttributeProto => ({ name, type: 7, ints: v });
const int = (name: string, v: bigint): AttributeProto => ({ name, type: 2, i: v });

const x = Float64Array.from({ length: 12 }, (_, i) => i - 5);
const rows = (from: number, to: number) => Array.from(x.slice(from * 3, to * 3));
const runSlice = (starts: bigint, ends: bigint): number[] => {
  const g = importOnnx(encodeModel(model("Slice", [ints("starts", starts), ints("ends", ends), ints("axes", 0n)], 9))).graph;
  return Array.from(interpret(g, [{ data: x, shape: [4, 3] }]).outputs[0]!.data);
};
const importError = (m: ModelProto): string => {
  try {
    importOnnx(encodeModel(m));
  } catch (e) {
    expect(e).toBeInstanceOf(OnnxError);
    return (e as Error).message;
  }
  throw new Error("imported without an error");
};

describe("int64 attributes", () => {
  it("decode exactly: 2^63 − 1, −2^63 and 2^53 + 1 come back as the bigints written", () => {
    const back = decodeModel(encodeModel(model("Slice", [ints("ends", INT64_MAX, INT64_MIN, BEYOND), int("axis", BEYOND)], 9)));
    const [e, a] = back.graph!.node![0]!.attribute!;
    expect(e!.ints).toEqual([INT64_MAX, INT64_MIN, BEYOND]);
    expect(a!.i).toBe(BEYOND);
  });

  it("INT64_MAX / INT64_MIN as Slice (opset 9) bounds mean 'to the end' / 'from the start'", () => {
    expect(runSlice(1n, INT64_MAX)).toEqual(rows(1, 4));
    expect(runSlice(INT64_MIN, -1n)).toEqual(rows(0, 3));
    expect(runSlice(INT64_MIN, INT64_MAX)).toEqual(rows(0, 4));
    // Exact small values around them still mean what they say.
    expect(runSlice(-3n, 3n)).toEqual(rows(1, 3));
  });

  it("2^53 + 1 in an INTS attribute is a one-line OnnxError naming the node, attribute and element", () => {
    const msg = importError(model("Slice", [ints("starts", 0n), ints("ends", 2n, BEYOND), ints("axes", 0n, 1n)], 9));
    expect(msg).toMatch(/Slice \(node n1\): attribute ends\[1\] = 9007199254740993 is beyond ±2\^53/);
    expect(msg).not.toContain("\n");
    // −(2^53 + 1) too; 2^53 − 1 is exact and accepted by the reader (Slice then clamps it).
    expect(importError(model("Slice", [ints("starts", -BEYOND), ints("ends", 2n), ints("axes", 0n)], 9))).toMatch(/attribute starts\[0\] = -9007199254740993 is beyond/);
    expect(runSlice(0n, 2n ** 53n - 1n)).toEqual(rows(0, 4));
  });

  it("2^53 + 1 in an INT attribute is a one-line OnnxError naming the node and attribute", () => {
    const msg = importError(model("Flatten", [int("axis", BEYOND)], 13, [4, 3]));
    expect(msg).toMatch(/Flatten \(node n1\): attribute axis = 9007199254740993 is beyond ±2\^53/);
    expect(msg).not.toContain("\n");
  });

  it("the sentinels where an op needs a small value (an axis) are the op's one-line range error", () => {
    for (const v of [INT64_MAX, INT64_MIN]) {
      const msg = importError(model("Flatten", [int("axis", v)], 13, [4, 3]));
      // ±2^63 as a number prints as ±9223372036854776000.
      expect(msg).toMatch(/Flatten \(node n1\): axis -?9223372036854776000 is out of range for rank 2/);
      expect(msg).not.toContain("\n");
    }
  });
});
