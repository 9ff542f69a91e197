/**
 * Runs ONNX's backend node tests (/usr/share/libonnx-testdata/data/node/test_*) through the
 * importer and Lathe's reference interpreter, as the conformance runner does: inputs that
 * a StaticInputError names are bound from the test data and the model re-imported.
 * For tests and exploration (`npx tsx compiler/frontend/onnx/ops/node-test-runner.ts test_gemm_alpha …`).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { interpret } from "../../compiler/graph/interpret.ts";
import { dataToNumbers, numbersToData } from "../../compiler/graph/passes/constant-data.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { ATOL, mismatch as tensorMismatch, readDataSets, RTOL, TESTDATA_ROOT } from "../../compiler/driver/onnx-conformance.ts";
import { StaticInputError, UnsupportedOpsError } from "../../compiler/frontend/onnx/errors.ts";
import type { ImportedModel } from "../../compiler/frontend/onnx/import.ts";
import { importOnnx } from "../../compiler/frontend/onnx/import.ts";
import { decodeModel } from "../../compiler/frontend/onnx/proto.ts";

export const NODE_TESTS = `${TESTDATA_ROOT}/node`;
export const haveNodeTests = existsSync(NODE_TESTS);

export interface NodeTestCase {
  readonly model: ImportedModel;
  /** Test-data inputs of the model's remaining (unbound) graph inputs, in order. */
  readonly inputs: Tensor[];
  readonly expected: Tensor[];
}

/** Imports a node test's model (`test_x` under node/, or `pytorch-converted/test_y`), binding the inputs it needs at compile time. */
export function loadNodeTest(name: string): NodeTestCase {
  const dir = name.includes("/") ? `${TESTDATA_ROOT}/${name}` : `${NODE_TESTS}/${name}`;
  const proto = decodeModel(readFileSync(`${dir}/model.onnx`), name);
  const inits = new Set((proto.graph?.initializer ?? []).map((t) => t.name));
  const inputNames = (proto.graph?.input ?? []).map((i) => i.name ?? "").filter((n) => !inits.has(n));
  const set = readDataSets(dir)[0]!;
  const byName = new Map(inputNames.map((n, k) => [n, set.inputs[k]!]));
  const bind: Record<string, Tensor> = {};
  for (;;) {
    try {
      const model = importOnnx(`${dir}/model.onnx`, { bind });
      const inputs = model.inputs.map((i) => byName.get(i.name)!);
      return { model, inputs, expected: [...set.outputs] };
    } catch (e) {
      if (!(e instanceof StaticInputError) || e.inputs.length === 0 || e.inputs.every((n) => n in bind)) throw e;
      for (const n of e.inputs) bind[n] = byName.get(n)!;
    }
  }
}

export type NodeTestOutcome =
  | { readonly status: "pass"; readonly maxErr: number }
  | { readonly status: "fail"; readonly reason: string }
  | { readonly status: "unsupported"; readonly reason: string };

/** The conformance runner's comparison (conformance.ts, ONNX's tolerances) on results given as numbers in `want`'s shape. */
export function mismatch(got: ArrayLike<number>, want: Tensor, rtol = RTOL, atol = ATOL): string | null {
  if (got.length !== want.size) return `${got.length} elements, expected ${want.size}`;
  return tensorMismatch(new Tensor(numbersToData(want.dtype, got), want.shape, want.dtype), want, rtol, atol);
}

/** Imports and interprets a node test; compares every output. */
export function runNodeTest(name: string): NodeTestOutcome {
  let c: NodeTestCase;
  try {
    c = loadNodeTest(name);
  } catch (e) {
    if (e instanceof UnsupportedOpsError) return { status: "unsupported", reason: e.unsupported.map((u) => `${u.op}: ${u.reason}`).join("; ") };
    return { status: "fail", reason: `import: ${(e as Error).message}` };
  }
  let outs: { data: Float64Array; shape: number[] }[];
  try {
    outs = interpret(c.model.graph, c.inputs.map((t) => ({ data: dataToNumbers(t.dtype, t.data), shape: t.shape }))).outputs;
  } catch (e) {
    return { status: "fail", reason: `interpret: ${(e as Error).message}` };
  }
  let maxErr = 0;
  for (let k = 0; k < c.expected.length; k++) {
    const want = c.expected[k]!, got = outs[k]!;
    if (got.shape.join() !== want.shape.join()) return { status: "fail", reason: `output ${k}: shape [${got.shape}], expected [${want.shape}]` };
    const bad = mismatch(got.data, want);
    if (bad) return { status: "fail", reason: `output ${k}: ${bad}` };
    const e = want.toArray();
    for (let i = 0; i < e.length; i++) if (!Number.isNaN(e[i]!)) maxErr = Math.max(maxErr, Math.abs(got.data[i]! - e[i]!));
  }
  return { status: "pass", maxErr };
}

/** Node test directories whose name starts with one of the prefixes. */
export const nodeTestsMatching = (...prefixes: string[]): string[] =>
  prefixes.flatMap((p) => {
    const slash = p.lastIndexOf("/");
    const [sub, stem] = slash < 0 ? ["", p] : [p.slice(0, slash + 1), p.slice(slash + 1)];
    return readdirSync(sub ? `${TESTDATA_ROOT}/${sub}` : NODE_TESTS).filter((d) => d.startsWith(stem)).map((d) => sub + d);
  }).sort();

if (process.argv[1]?.endsWith("node-test-runner.ts")) {
  const names = process.argv.slice(2).flatMap((a) => (a.endsWith("*") ? nodeTestsMatching(a.slice(0, -1)) : [a]));
  for (const n of names) {
    const r = runNodeTest(n);
    console.log(n.padEnd(60), r.status, r.status === "pass" ? `maxErr ${r.maxErr.toExponential(2)}` : r.reason.slice(0, 400));
  }
}
