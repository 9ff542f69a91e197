/**
 * Neural-network converters against ONNX's backend node tests (model + stored inputs and
 * outputs, through the reference interpreter) and against hand-built models whose
 * results are worked out independently (closed forms, or the same computation spelled out
 * with other ops).
 */
import { describe, expect, it } from "vitest";
import { Tensor } from "../../../../runtime/tensor.ts";
import { interpret } from "../../../graph/interpret.ts";
import { importOnnx, UnsupportedOpsError } from "../index.ts";
import { modelBytes, valueInfo } from "../testing.ts";
import { nodeSuite } from "../../../../test/onnx/node-test-suite.ts";

nodeSuite("MatMul, Gemm", ["test_matmul_", "test_gemm_"], {});
nodeSuite("Conv, ConvTranspose", ["test_conv_", "test_basic_conv_", "test_convtranspose"], {
  test_convtranspose_3d: /3-D transposed convolution/,
});
nodeSuite("pooling", ["test_averagepool_", "test_maxpool_", "test_globalaveragepool", "test_globalmaxpool"], {
  test_maxpool_with_argmax_2d_precomputed_pads: /Indices output/,
  test_maxpool_with_argmax_2d_precomputed_strides: /Indices output/,
});
nodeSuite("normalizations", ["test_batchnorm_", "test_instancenorm_", "test_layer_normalization_", "test_mvn", "test_lrn"], {});
nodeSuite("softmax family, Flatten", ["test_softmax_", "test_logsoftmax_", "test_hardmax_", "test_flatten_"], {});
nodeSuite("Einsum", ["test_einsum_"], {});
nodeSuite("PyTorch-exported layers", [
  "pytorch-converted/test_Conv", "pytorch-converted/test_AvgPool", "pytorch-converted/test_MaxPool", "pytorch-converted/test_BatchNorm",
  "pytorch-converted/test_Linear", "pytorch-converted/test_Softmax", "pytorch-converted/test_LogSoftmax", "pytorch-converted/test_log_softmax",
  "pytorch-converted/test_softmax", "pytorch-operator/test_operator_conv", "pytorch-operator/test_operator_maxpool", "pytorch-operator/test_operator_mm",
  "pytorch-operator/test_operator_addmm", "pytorch-operator/test_operator_flatten",
], {},
// A large convolution (≈30 s in the interpreter) and the 3-D layers (decomposed into many 2-D
// ones, slow to interpret): the compiled conformance run (test/onnx/conformance.test.ts) covers them.
/test_operator_conv$|3d/);

// ---- Hand-built models ----

const f32 = (values: readonly number[], shape: readonly number[]) => Tensor.fromArray(values, shape, "f32");
const iota = (n: number, scale = 1, offset = 0) => Array.from({ length: n }, (_, k) => offset + scale * (((k * 7) % 11) - 5));

/** One node over float inputs; returns the interpreter's outputs. */
function runOne(opset: number, op: string, inputs: Record<string, Tensor>, outShapes: (number | string)[][], attrs: Record<string, never> | Record<string, unknown> = {}, initializers: Record<string, Tensor> = {}) {
  const names = Object.keys(inputs);
  const bytes = modelBytes({
    opset,
    inputs: names.map((n) => valueInfo(n, inputs[n]!.dtype, inputs[n]!.shape)),
    outputs: outShapes.map((s, k) => valueInfo(`y${k}`, "f32", s)),
    initializers,
    nodes: [{ op, inputs: [...names, ...Object.keys(initializers)], outputs: outShapes.map((_, k) => `y${k}`), attrs: attrs as never }],
  });
  const m = importOnnx(bytes);
  return interpret(m.graph, names.map((n) => ({ data: inputs[n]!.toArray(), shape: inputs[n]!.shape }))).outputs;
}

const close = (got: ArrayLike<number>, want: readonly number[], tol = 1e-5) => {
  expect(got.length).toBe(want.length);
  want.forEach((w, i) => expect(Math.abs(got[i]! - w)).toBeLessThanOrEqual(tol * (1 + Math.abs(w))));
};

describe("MatMul with 1-D operands (NumPy rules)", () => {
  it("vector × matrix, matrix × vector, vector · vector, batched × vector", () => {
    const v = f32([1, 2, 3], [3]), m = f32([1, 2, 3, 4, 5, 6], [3, 2]), mt = f32([1, 3, 5, 2, 4, 6], [2, 3]);
    const vm = runOne(13, "MatMul", { a: v, b: m }, [[2]])[0]!;
    expect(vm.shape).toEqual([2]);
    close(vm.data, [1 + 6 + 15, 2 + 8 + 18]);
    const mv = runOne(13, "MatMul", { a: mt, b: v }, [[2]])[0]!;
    expect(mv.shape).toEqual([2]);
    close(mv.data, [22, 28]);
    const vv = runOne(13, "MatMul", { a: v, b: v }, [[]])[0]!;
    expect(vv.shape).toEqual([]);
    close(vv.data, [14]);
    const bv = runOne(13, "MatMul", { a: f32([...mt.toArray(), ...mt.toArray().map((x) => -x)], [2, 2, 3]), b: v }, [[2, 2]])[0]!;
    expect(bv.shape).toEqual([2, 2]);
    close(bv.data, [22, 28, -22, -28]);
  });

  it("rejects integer operands as an unsupported variant", () => {
    const i = Tensor.fromArray([1, 2, 3, 4], [2, 2], "i32");
    expect(() => runOne(13, "MatMul", { a: i, b: i }, [[2, 2]])).toThrow(UnsupportedOpsError);
  });
});

describe("softmax family before opset 13", () => {
  // Opset < 13 normalizes the flattened block x.shape[axis:] as one distribution.
  const x = f32(iota(24, 0.3), [2, 3, 4]);
  const block = (data: ArrayLike<number>, n: number, f: (row: number[]) => number[]) =>
    Array.from({ length: data.length / n }, (_, r) => f(Array.from(data).slice(r * n, (r + 1) * n))).flat();
  const softmax = (row: number[]) => {
    const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  };
  it("Softmax axis=1 normalizes over the trailing 12 elements", () => {
    const y = runOne(11, "Softmax", { x }, [[2, 3, 4]], { axis: 1 })[0]!;
    close(y.data, block(x.toArray(), 12, softmax));
  });
  it("LogSoftmax with the default axis (1)", () => {
    const y = runOne(11, "LogSoftmax", { x }, [[2, 3, 4]])[0]!;
    close(y.data, block(x.toArray(), 12, (r) => softmax(r).map(Math.log)));
  });
  it("Hardmax axis=0 marks the first maximum of the whole tensor", () => {
    const t = f32([1, 5, 2, 5, 0, 0], [2, 3]);
    const y = runOne(11, "Hardmax", { x: t }, [[2, 3]], { axis: 0 })[0]!;
    expect(Array.from(y.data)).toEqual([0, 1, 0, 0, 0, 0]);
  });
  it("opset 13 normalizes one axis only", () => {
    const y = runOne(13, "Softmax", { x }, [[2, 3, 4]], { axis: 1 })[0]!;
    // Along axis 1 (stride 4): transpose to rows, softmax each, transpose back.
    const a = x.toArray(), want = new Array<number>(24);
    for (let n = 0; n < 2; n++) for (let k = 0; k < 4; k++) {
      const s = softmax([0, 1, 2].map((c) => a[n * 12 + c * 4 + k]!));
      s.forEach((v, c) => (want[n * 12 + c * 4 + k] = v));
    }
    close(y.data, want);
  });
});

describe("Conv geometry", () => {
  /** Direct 2-D convolution (NCHW, OIHW, one group) with explicit pads. */
  function conv2d(x: number[], [n, c, h, w]: number[], k: number[], [m, , kh, kw]: number[], s: number[], p: number[], d: number[]) {
    const oh = Math.floor((h + p[0]! + p[2]! - (d[0]! * (kh! - 1) + 1)) / s[0]!) + 1;
    const ow = Math.floor((w + p[1]! + p[3]! - (d[1]! * (kw! - 1) + 1)) / s[1]!) + 1;
    const out: number[] = [];
    for (let b = 0; b < n!; b++) for (let o = 0; o < m!; o++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) {
      let acc = 0;
      for (let ci = 0; ci < c!; ci++) for (let u = 0; u < kh!; u++) for (let v = 0; v < kw!; v++) {
        const y = i * s[0]! - p[0]! + u * d[0]!, xx = j * s[1]! - p[1]! + v * d[1]!;
        if (y >= 0 && y < h! && xx >= 0 && xx < w!) acc += x[((b * c! + ci) * h! + y) * w! + xx]! * k[((o * c! + ci) * kh! + u) * kw! + v]!;
      }
      out.push(acc);
    }
    return { out, shape: [n!, m!, oh, ow] };
  }

  it.each([
    ["SAME_UPPER", [2, 2], [1, 1], [1, 0, 1, 1]],
    ["SAME_LOWER", [2, 2], [1, 1], [1, 1, 1, 0]],
    ["SAME_LOWER", [1, 1], [2, 1], [2, 1, 2, 1]],
    ["VALID", [2, 1], [1, 2], [0, 0, 0, 0]],
  ] as const)("auto_pad %s, strides %j, dilations %j", (autoPad, strides, dilations, pads) => {
    const xs = [1, 2, 5, 6], ks = [3, 2, 3, 3];
    const x = iota(60, 0.25), k = iota(54, 0.5, 0.1);
    const want = conv2d(x, xs, k, ks, [...strides], [...pads], [...dilations]);
    const bias = f32([0.5, -1, 2], [3]);
    const y = runOne(13, "Conv", { x: f32(x, xs) }, [want.shape], { auto_pad: autoPad, strides, dilations }, { w: f32(k, ks), b: bias })[0]!;
    expect(y.shape).toEqual(want.shape);
    const per = want.shape[2]! * want.shape[3]!;
    close(y.data, want.out.map((v, i) => v + bias.toArray()[Math.floor(i / per) % 3]!));
  });
});

describe("pooling geometry", () => {
  it("AveragePool ceil_mode with count_include_pad counts explicit pads but not ceil's extra cells", () => {
    // 1×1×1×5 row [1..5], kernel 3, stride 2, pads 1 each side: padded [0,1,2,3,4,5,0]; ceil gives 3 windows,
    // the last starts at padded index 4 and reaches one cell past the padding.
    const x = f32([1, 2, 3, 4, 5], [1, 1, 1, 5]);
    const y = runOne(13, "AveragePool", { x }, [[1, 1, 1, 3]], { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], ceil_mode: 1, count_include_pad: 1 })[0]!;
    close(y.data, [(0 + 1 + 2) / 3, (2 + 3 + 4) / 3, (4 + 5 + 0) / 3]);
    const z = runOne(13, "AveragePool", { x }, [[1, 1, 1, 3]], { kernel_shape: [1, 3], strides: [1, 2], pads: [0, 1, 0, 1], ceil_mode: 1 })[0]!;
    close(z.data, [(1 + 2) / 2, (2 + 3 + 4) / 3, (4 + 5) / 2]);
  });

  it("GlobalAveragePool and GlobalMaxPool over 1-D and 3-D spatial axes", () => {
    const x = f32(iota(2 * 3 * 4), [2, 3, 4]);
    const avg = runOne(13, "GlobalAveragePool", { x }, [[2, 3, 1]])[0]!;
    const rows = Array.from({ length: 6 }, (_, r) => x.toArray().slice(r * 4, r * 4 + 4));
    close(avg.data, rows.map((r) => r.reduce((a, b) => a + b, 0) / 4));
    const x5 = f32(iota(2 * 2 * 2 * 3 * 2), [2, 2, 2, 3, 2]);
    const mx = runOne(13, "GlobalMaxPool", { x: x5 }, [[2, 2, 1, 1, 1]])[0]!;
    const blocks = Array.from({ length: 4 }, (_, r) => x5.toArray().slice(r * 12, r * 12 + 12));
    close(mx.data, blocks.map((b) => Math.max(...b)));
  });
});

describe("LayerNormalization statistics outputs", () => {
  it("Mean and InvStdDev keep the normalized axes as 1s", () => {
    const x = f32(iota(12, 0.5), [2, 2, 3]);
    const [y, mean, inv] = runOne(17, "LayerNormalization", { x }, [[2, 2, 3], [2, 1, 1], [2, 1, 1]], { axis: 1 }, { s: f32(new Array(6).fill(2), [2, 3]) });
    expect(mean!.shape).toEqual([2, 1, 1]);
    for (let n = 0; n < 2; n++) {
      const row = x.toArray().slice(n * 6, n * 6 + 6);
      const mu = row.reduce((a, b) => a + b, 0) / 6;
      const rstd = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mu) ** 2, 0) / 6 + 1e-5);
      close([mean!.data[n]!, inv!.data[n]!], [mu, rstd]);
      close(Array.from(y!.data).slice(n * 6, n * 6 + 6), row.map((v) => 2 * (v - mu) * rstd));
    }
  });
});

describe("Einsum equations beyond the node tests", () => {
  const a = f32(iota(24, 0.5), [2, 3, 4]);
  it("bij,bjk->bik, ij->ji, bij->b, bij,bkj->bik and implicit output", () => {
    const A = a.toArray(), B = f32(iota(24, 0.25, 1), [2, 4, 3]).toArray();
    const run1 = (eq: string, ins: Record<string, Tensor>, shape: number[]) => runOne(12, "Einsum", ins, [shape], { equation: eq })[0]!;
    const bik = run1("bij,bjk->bik", { a, b: f32(B, [2, 4, 3]) }, [2, 3, 3]);
    const want: number[] = [];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += A[n * 12 + i * 4 + j]! * B[n * 12 + j * 3 + k]!;
      want.push(s);
    }
    close(bik.data, want);
    const implicit = run1("bij,bjk", { a, b: f32(B, [2, 4, 3]) }, [3, 3]); // labels used once: i, k (b and j summed)
    close(implicit.data, [0, 1, 2].flatMap((i) => [0, 1, 2].map((k) => want[i * 3 + k]! + want[9 + i * 3 + k]!)));
    const sums = run1("bij->b", { a }, [2]);
    close(sums.data, [0, 1].map((n) => A.slice(n * 12, n * 12 + 12).reduce((p, q) => p + q, 0)));
    const c = f32(iota(24, 0.1, -0.2), [2, 3, 4]), C = c.toArray();
    const outer = run1("bij,bkj->bik", { a, c }, [2, 3, 3]);
    const wantOuter: number[] = [];
    for (let n = 0; n < 2; n++) for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) {
      let s = 0;
      for (let j = 0; j < 4; j++) s += A[n * 12 + i * 4 + j]! * C[n * 12 + k * 4 + j]!;
      wantOuter.push(s);
    }
    close(outer.data, wantOuter);
  });

  it("three operands and a broadcast ellipsis", () => {
    const x = f32([1, 2, 3], [3]), y = f32([1, 0, 2, 1], [2, 2]), z = f32([2, 3], [2]);
    // i,jk,k->ij: x_i · Σ_k y_jk z_k
    const r = runOne(12, "Einsum", { x, y, z }, [[3, 2]], { equation: "i,jk,k->ij" })[0]!;
    const yz = [1 * 2 + 0 * 3, 2 * 2 + 1 * 3];
    close(r.data, [1, 2, 3].flatMap((xi) => yz.map((v) => xi * v)));
    // ...ij,jk->...ik with a [2,1,2,3] left operand broadcasting its leading axes.
    const l = f32(iota(12, 0.5), [2, 1, 2, 3]), m = f32(iota(6, 1, 1), [3, 2]);
    const e = runOne(12, "Einsum", { l, m }, [[2, 1, 2, 2]], { equation: "...ij,jk->...ik" })[0]!;
    const L = l.toArray(), M = m.toArray();
    close(e.data, Array.from({ length: 4 }, (_, r0) => [0, 1].map((k) => [0, 1, 2].reduce((s, j) => s + L[r0 * 3 + j]! * M[j * 2 + k]!, 0))).flat());
  });
});

describe("malformed nodes are errors naming the node", () => {
  const build = (op: string, attrs: Record<string, unknown>, inputs: Record<string, Tensor>) => () =>
    importOnnx(modelBytes({
      opset: 13,
      inputs: Object.entries(inputs).map(([n, t]) => valueInfo(n, t.dtype, t.shape)),
      outputs: [valueInfo("y", "f32", [1])],
      nodes: [{ op, name: "bad", inputs: Object.keys(inputs), outputs: ["y"], attrs: attrs as never }],
    }));
  it("Conv pads of the wrong length, Einsum with a label the operands lack, Flatten axis out of range", () => {
    const x = f32(iota(16), [1, 1, 4, 4]), w = f32(iota(9), [1, 1, 3, 3]);
    expect(build("Conv", { pads: [1, 1] }, { x, w })).toThrow(/Conv \(node bad\).*pads has 2 entries, expected 4/);
    expect(build("Einsum", { equation: "ij->iz" }, { a: f32([1, 2, 3, 4], [2, 2]) })).toThrow(/Einsum \(node bad\).*'z'/);
    expect(build("Flatten", { axis: 5 }, { x })).toThrow(/Flatten \(node bad\).*axis 5/);
  });
});
