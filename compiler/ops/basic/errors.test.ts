/** Bad graphs are rejected with errors that name the node, the op and the shapes involved. */
import { describe, expect, test } from "vitest";
import { ShapeError } from "../../../core/errors.ts";
import { GraphBuilder } from "../../graph/builder.ts";

import { opFailure as failure } from "./testing.ts";

describe("shape errors name the node, the op and both shapes", () => {
  test("binary broadcasting mismatch", () => {
    const e = failure("add", [[[3, 4]], [[5]]]);
    expect(e).toBeInstanceOf(ShapeError);
    expect(e.message).toBe("node n1 (add): cannot broadcast f32[3, 4] with f32[5]");
  });

  test("symbolic against a different dimension", () => {
    expect(failure("mul", [[["batch", 4]], [[3, 4]]]).message).toBe("node n1 (mul): cannot broadcast f32[batch, 4] with f32[3, 4]");
    expect(failure("sub", [[["n"]], [["m"]]]).message).toMatch(/n1 \(sub\).*f32\[n\].*f32\[m\]/);
  });

  test("where, comparisons and the gradient helpers", () => {
    expect(failure("where", [[[2], "bool"], [[3]], [[2]]]).message).toMatch(/n1 \(where\): cannot broadcast bool\[2\] with f32\[3\] with f32\[2\]/);
    expect(failure("where", [[[2], "f32"], [[2]], [[2]]]).message).toMatch(/condition must be bool/);
    expect(failure("less", [[[2, 2]], [[3]]]).message).toMatch(/n1 \(less\).*\[2, 2\].*\[3\]/);
    expect(failure("sum_like", [[[2, 3]], [[4]]]).message).toMatch(/n1 \(sum_like\): f32\[4\] does not broadcast to f32\[2, 3\]/);
    expect(failure("broadcast_like", [[[2, 3]], [[3]]]).message).toMatch(/n1 \(broadcast_like\)/);
    expect(failure("reshape_like", [[[2, 3]], [[5]]]).message).toMatch(/n1 \(reshape_like\).*\[2, 3\].*\[5\]/);
  });

  test("shape ops", () => {
    expect(failure("reshape", [[[2, 3]]], { shape: [4, -1] }).message).toMatch(/n1 \(reshape\): cannot reshape \[2, 3\] to \[4, -1\]/);
    expect(failure("reshape", [[[2, 3]]], { shape: [-1, -1] }).message).toMatch(/more than one -1/);
    expect(failure("reshape", [[["batch", 3]]], { shape: [-1] }).message).toMatch(/not a single dimension/);
    expect(failure("transpose", [[[2, 3]]], { perm: [0, 0] }).message).toMatch(/n1 \(transpose\).*not a permutation/);
    expect(failure("squeeze", [[[2, 3]]], { axes: [0] }).message).toMatch(/n1 \(squeeze\): axis 0 of \[2, 3\] has size 2/);
    expect(failure("expand", [[[3, 2]]], { shape: [4, 4] }).message).toMatch(/n1 \(expand\): cannot broadcast f32\[3, 2\] to \[4, 4\]/);
    expect(failure("concat", [[[2, 3]], [[3, 3]]], { axis: 1 }).message).toMatch(/n1 \(concat\).*f32\[2, 3\], f32\[3, 3\]/);
    expect(failure("concat", [[["b", 3]], [["b", 3]]], { axis: 0 }).message).toMatch(/n1 \(concat\)/);
    expect(failure("split", [[[5]]], { sizes: [2, 2] }).message).toMatch(/n1 \(split\).*\[2, 2\].*f32\[5\]/);
    expect(failure("slice", [[["b", 3]]], { starts: [1], ends: [2] }).message).toMatch(/cannot slice symbolic dimension b/);
    expect(failure("slice", [[[4]]], { starts: [0], ends: [2], steps: [0] }).message).toMatch(/step 0/);
    expect(failure("pad", [[[2, 3]]], { pads: [1, 1] }).message).toMatch(/n1 \(pad\): pads needs 4 entries/);
    expect(failure("gather", [[[4]], [[2], "f32"]]).message).toMatch(/n1 \(gather\): indices must be an integer tensor, got f32\[2\]/);
    expect(failure("gather_grad", [[[3]], [[2], "i32"], [[4]]]).message).toMatch(/n1 \(gather_grad\).*f32\[3\]/);
    expect(failure("slice_grad", [[[3]], [[5]]], { starts: [0], ends: [2] }).message).toMatch(/n1 \(slice_grad\).*f32\[3\]/);
  });

  test("axes out of range or repeated", () => {
    expect(failure("sum", [[[2, 3]]], { axes: [2] }).message).toBe("node n1 (sum): axis 2 is out of range for rank 2");
    expect(failure("mean", [[[2, 3]]], { axes: [1, -1] }).message).toMatch(/repeat/);
    expect(failure("argmax", [[[2, 3]]], { axis: -3 }).message).toMatch(/n1 \(argmax\)/);
    expect(failure("one_hot", [[[2], "i32"]], { depth: 3, axis: 3 }).message).toMatch(/n1 \(one_hot\)/);
  });
});

describe("dtype rules", () => {
  test("float-only ops reject integers, with the type in the message", () => {
    expect(failure("exp", [[[3], "i32"]]).message).toBe("node n1 (exp): needs a float input, got i32[3] (cast it first)");
    for (const op of ["log", "sqrt", "rsqrt", "tanh", "sigmoid", "gelu", "softplus", "leaky_relu", "erf"]) {
      expect(failure(op, [[[2], "i32"]]).message).toMatch(new RegExp(`n1 \\(${op}\\): needs a float input`));
    }
    expect(failure("pow", [[[2], "i32"], [[2], "i32"]]).message).toMatch(/n1 \(pow\): needs a float/);
    expect(failure("mean", [[[2], "i32"]]).message).toMatch(/n1 \(mean\): needs a float/);
    expect(failure("logsumexp", [[[2], "i8"]]).message).toMatch(/n1 \(logsumexp\): needs a float/);
  });

  test("mixed dtypes and bool arithmetic are rejected", () => {
    expect(failure("add", [[[2], "f32"], [[2], "f64"]]).message).toBe("node n1 (add): operand dtypes differ: f32[2] vs f64[2] (insert a cast)");
    expect(failure("neg", [[[2], "bool"]]).message).toMatch(/arithmetic on bool/);
    expect(failure("cast", [[[2]]], { dtype: "f128" }).message).toMatch(/unknown dtype "f128"/);
  });
});

describe("attributes", () => {
  test("an unknown attribute is rejected", () => {
    expect(failure("relu", [[[2]]], { alpha: 0.1 }).message).toBe('node n1 (relu): unknown attribute "alpha"');
    expect(failure("sum", [[[2]]], { axis: 0 }).message).toMatch(/unknown attribute "axis"/);
  });

  test("a missing required attribute is rejected", () => {
    expect(failure("reshape", [[[2]]]).message).toBe('node n1 (reshape): missing attribute "shape"');
    expect(failure("cast", [[[2]]]).message).toMatch(/missing attribute "dtype"/);
    expect(failure("one_hot", [[[2], "i32"]]).message).toMatch(/missing attribute "depth"/);
    expect(failure("concat", [[[2]], [[2]]]).message).toMatch(/missing attribute "axis"/);
  });

  test("an ill-typed attribute is rejected; defaults are filled in", () => {
    expect(failure("sum", [[[2]]], { keepdims: 1 }).message).toMatch(/attribute "keepdims" must be bool/);
    const b = new GraphBuilder();
    b.op("leaky_relu", [b.input("x", [2])], {}, "lr");
    b.op("sum", [b.input("y", [2])], {}, "s");
    const [lr, s] = b.build([]).nodes;
    expect(lr!.attrs).toEqual({ alpha: 0.01 });
    expect(s!.attrs).toEqual({ axes: [], keepdims: false });
  });

  test("an op with the wrong number of inputs is rejected", () => {
    expect(failure("add", [[[2]]]).message).toBe("node n1 (add): takes 2 input(s), got 1");
  });
});
