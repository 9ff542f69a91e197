/**
 * An out-of-tree Lathe target: "openblas-cpu" is the cpu target with a bring-your-own-
 * codegen table. Two-dimensional f32 matmuls — alone, or followed by a bias add — become
 * calls to OpenBLAS's cblas_sgemm; everything else is compiled by the cpu target as usual.
 *
 *   lathe compile model.lg --plugin ./examples/openblas-target --target openblas-cpu -o out/
 *
 * Needs libopenblas-dev (cblas.h and -lopenblas). OpenBLAS reads OPENBLAS_* environment
 * variables (core type, thread count) at load time; nothing here depends on them.
 */
import { cpuPlugin, defineTarget, externalFunction, type ExternalKernel, type PatternMatch, type Value } from "../../plugin-api.ts";

const isF32Matrix = (v: Value): boolean => v.type.dtype === "f32" && v.type.shape.length === 2;

/** The matmul's operands are plain 2-D f32 matrices (no batch dimensions to broadcast). */
const plainMatmul = (m: PatternMatch): boolean => {
  const mm = m.nodes[0]!;
  // sgemm below is called without transposition: products with transA/transB stay with Lathe.
  return mm.attrs["transA"] !== true && mm.attrs["transB"] !== true && mm.inputs.every(isF32Matrix) && isF32Matrix(mm.outputs[0]!);
};

/** The bias of matmul → add: the add's other operand, an f32 vector over the columns. */
function biasOf(m: PatternMatch): Value | null {
  const [mm, add] = m.nodes as [PatternMatch["nodes"][number], PatternMatch["nodes"][number]];
  const h = mm.outputs[0]!;
  const others = add.inputs.filter((v) => v !== h);
  if (others.length !== 1) return null; // add(h, h)
  const b = others[0]!;
  const n = h.type.shape[1];
  return b.type.dtype === "f32" && b.type.shape.length === 1 && b.type.shape[0] === n && isF32Matrix(add.outputs[0]!) ? b : null;
}

/** C = A·B (+ bias per row), row-major, sizes read from the descriptors (the batch may be symbolic). */
function sgemm(k: ExternalKernel, bias: Value | null): string {
  const mm = k.nodes[0]!;
  const arg = (v: Value) => k.inputs.indexOf(v);
  const a = arg(mm.inputs[0]!), b = arg(mm.inputs[1]!), c = k.inputs.length;
  const body = [
    `  const int64_t M = args[${a}].shape[0], K = args[${a}].shape[1], N = args[${b}].shape[1];`,
    `  if (args[${b}].shape[0] != K || args[${c}].shape[0] != M || args[${c}].shape[1] != N) { lathe_fail("${k.symbol}: shapes do not match for a %lldx%lld by %lldx%lld product", (long long)M, (long long)K, (long long)args[${b}].shape[0], (long long)N); return 2; }`,
    `  const float* A = static_cast<const float*>(args[${a}].data);`,
    `  const float* B = static_cast<const float*>(args[${b}].data);`,
    `  float* C = static_cast<float*>(args[${c}].data);`,
  ];
  if (bias) {
    body.push(
      `  const float* bias = static_cast<const float*>(args[${arg(bias)}].data);`,
      `  for (int64_t i = 0; i < M; ++i) std::memcpy(C + i * N, bias, (size_t)N * sizeof(float));`,
    );
  }
  body.push(
    `  if (M == 0 || N == 0) return 0;`,
    `  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, 1.0f, A, (blasint)K, B, (blasint)N, ${bias ? "1.0f" : "0.0f"}, C, (blasint)N);`,
  );
  return externalFunction(k, body.join("\n"), ["<cblas.h>"]);
}

export default defineTarget({
  ...cpuPlugin,
  name: "openblas-cpu",
  description: "the cpu target with 2-D f32 matmul (and matmul + bias) calling OpenBLAS cblas_sgemm",
  options: { linkFlags: ["-lopenblas"] },
  // Longer chains first: a matmul followed by a bias add is taken whole.
  patterns: [
    { name: "sgemm_bias", ops: ["matmul", "add"], accepts: (m) => plainMatmul(m) && biasOf(m) !== null, emit: (k) => sgemm(k, biasOf(k)) },
    { name: "sgemm", ops: ["matmul"], accepts: plainMatmul, emit: (k) => sgemm(k, null) },
  ],
});
