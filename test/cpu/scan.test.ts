/**
 * Scans compiled by the cpu target: outputs and gradients against the unrolled graph in
 * the interpreter; the body's kernels are printed once whatever the trip count.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { autodiff } from "../../compiler/graph/passes/autodiff.ts";
import { isScan } from "../../compiler/graph/scan.ts";
import { fusionGroups } from "../../compiler/graph/passes/fuse.ts";
import { groupTensors } from "../../compiler/lower/group.ts";
import { SizeVars } from "../../compiler/graph/te-bridge.ts";
import { rnnFeed, rnnGraph, type RnnSizes } from "../../compiler/graph/scan.fixture.ts";
import { compileGraphs, lowerGraph } from "../../compiler/targets/cpu/graph.ts";
import { printGraphEntry } from "../../compiler/targets/cpu/graph-entry.ts";
import { printCppModule } from "../../compiler/codegen/cpp/print.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { bytesOf } from "../../core/dtype.ts";
import { RUNTIME_INCLUDE } from "../../compiler/targets/cpu/toolchain.ts";
import { hasAsan } from "./asan-harness.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const run = promisify(execFile);

type Feed = { data: ArrayLike<number>; shape: readonly number[] };

const close = (got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string) => {
  expect(got.length, `${what}: size`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i]! - want[i]!) <= tol * (1 + Math.abs(want[i]!)))) throw new Error(`${what} element ${i}: got ${got[i]}, want ${want[i]}`);
  }
};

const S: RnnSizes = { T: 5, B: 2, I: 3, H: 4 };
/** The graph with every input's gradient appended. */
const withGrads = (g: Graph): Graph => autodiff(g, g.outputs[0]!, g.inputs).graph;
const tensors = (feed: readonly Feed[], g: Graph) => feed.map((f, k) => Tensor.fromArray(Float64Array.from(f.data), [...f.shape], g.inputs[k]!.type.dtype));

/** A scan whose body has a constant (hoisted into the scan's invariants when compiled) and no sequences. */
function constantBody(): Graph {
  const body = new GraphBuilder();
  const c = body.input("c", [3], "f64");
  const k = body.constant("k", Float64Array.of(0.5, -0.25, 2), [3], "f64");
  const c2 = body.op1("sin", [body.op1("mul", [c, k])]);
  const b = new GraphBuilder();
  const c0 = b.input("c0", [3], "f64");
  const [cT, cs] = b.scan(body.build([c2, body.op1("add", [c2, k])]), { carries: [c0] }, { length: 4 });
  return b.build([cT!, cs!]);
}

describe("scan on the cpu target", () => {
  test("RNN scans (forward, reverse, symbolic length, with gradients), a body constant: compiled equals the unrolled graph in the interpreter", async () => {
    const symbolic = rnnGraph({ ...S, T: "steps" }, "scan");
    const graphs = [rnnGraph(S, "scan"), rnnGraph({ ...S, reverse: true }, "scan"), symbolic,
      withGrads(rnnGraph(S, "scan")), withGrads(rnnGraph({ ...S, reverse: true }, "scan")), withGrads(symbolic), constantBody()];
    const compiled = await compileGraphs(graphs);
    const check = (k: number, feed: readonly Feed[], want: readonly { data: ArrayLike<number> }[], what: string) => {
      const got = compiled[k]!.run(tensors(feed, graphs[k]!));
      expect(got).toHaveLength(want.length);
      got.forEach((t, j) => close(t.toArray(), want[j]!.data, 1e-10, `${what} output ${j}`));
    };
    const feed = rnnFeed(S, 5, 3);
    for (const [k, reverse] of [[0, false], [1, true]] as const) {
      const unrolled = rnnGraph({ ...S, reverse }, "unrolled");
      check(k, feed, interpret(unrolled, feed).outputs, `scan (reverse ${reverse})`);
      check(k + 3, feed, interpret(withGrads(unrolled), feed).outputs, `gradients (reverse ${reverse})`);
    }
    // One library for every length; the interpreter's scan is the reference (checked against unrolling in compiler/graph/scan.test.ts).
    for (const T of [1, 7, 0]) {
      const f = rnnFeed(S, T, 10 + T);
      check(2, f, interpret(symbolic, f).outputs, `symbolic length ${T}`);
      check(5, f, interpret(withGrads(symbolic), f).outputs, `symbolic-length gradients at ${T}`);
    }
    const c0 = [{ data: [0.3, -1.2, 0.8], shape: [3] }];
    check(6, c0, interpret(constantBody(), c0).outputs, "body constant");
    expect(compiled[6]!.graph.constants).toHaveLength(1);
    expect(compiled[6]!.graph.nodes.find(isScan)!.body.constants).toHaveLength(0);
  });

  test("the body's kernels are printed once: kernels and source do not grow with the trip count", () => {
    const lowered = [10, 200].map((T) => lowerGraph(withGrads(rnnGraph({ ...S, T }, "scan"))));
    const [a, b] = lowered as [ReturnType<typeof lowerGraph>, ReturnType<typeof lowerGraph>];
    expect(a.kernels.length).toBe(b.kernels.length);
    const entry = (lg: typeof a) => printGraphEntry(lg.plan);
    // The two entry points differ only in the numbers they spell (trip counts, block sizes).
    const shape = (text: string) => text.replace(/\d+/g, "N");
    expect(shape(entry(a))).toBe(shape(entry(b)));
    const source = (lg: typeof a) => printCppModule(lg.kernels.map((k) => k.func)).length + entry(lg).length;
    expect(Math.abs(source(b) - source(a)) / source(a)).toBeLessThan(0.02);
    const unrolled = lowerGraph(withGrads(rnnGraph({ ...S, T: 10 }, "unrolled")));
    expect(unrolled.kernels.length).toBeGreaterThan(3 * a.kernels.length);
  });

  // Slices are pointer arithmetic in the entry point: every argument allocated at its exact
  // size, so a step that reads or writes past a sequence or a stacked output trips ASan.
  test.skipIf(!hasAsan)(skipReason("a compiled scan with its backward scan runs clean under AddressSanitizer", !hasAsan && NEEDS.asan), async () => {
    const lg = lowerGraph(withGrads(rnnGraph({ ...S, T: 3, reverse: true }, "scan")));
    const DL: Record<string, string> = { f64: "2, 64", f32: "2, 32", i32: "0, 32" };
    const args = lg.plan.args.map((v, k) => {
      const dims = v.type.shape as number[];
      const bytes = dims.reduce((a, d) => a * d, bytesOf(v.type.dtype));
      return [`  static int64_t shape${k}[] = {${dims.join(", ") || "1"}};`,
        `  unsigned char* buf${k} = (unsigned char*)malloc(${Math.max(bytes, 1)});`,
        `  for (long i = 0; i < ${bytes}; ++i) buf${k}[i] = 0;`,
        `  args[${k}] = LatheTensor{buf${k}, ${dims.length}, LatheDType{${DL[v.type.dtype]}, 1}, shape${k}, nullptr};`].join("\n");
    });
    const main = `#include <cstdio>\n#include <cstdlib>\n#include "lathe_rt.h"\nextern "C" int32_t ${lg.entry}(const LatheTensor*, int32_t);\n` +
      `extern "C" const char* lathe_last_error(void);\nint main() {\n  LatheTensor args[${args.length}];\n${args.join("\n")}\n` +
      `  if (${lg.entry}(args, ${args.length}) != 0) { fprintf(stderr, "graph failed: %s\\n", lathe_last_error()); return 10; }\n` +
      lg.plan.args.map((_, k) => `  free(buf${k});`).join("\n") + "\n  return 0;\n}\n";
    const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-scan-asan-"));
    try {
      writeFileSync(path.join(dir, "graph.cc"), `${printCppModule(lg.kernels.map((k) => k.func))}\n${printGraphEntry(lg.plan, false, lg.entry)}`);
      writeFileSync(path.join(dir, "main.cc"), main);
      const exe = path.join(dir, "a.out");
      await run("g++", ["-std=c++17", "-O1", "-g", "-fopenmp", "-fsanitize=address", "-fno-omit-frame-pointer", `-I${RUNTIME_INCLUDE}`,
        path.join(dir, "graph.cc"), path.join(dir, "main.cc"), "-o", exe], { maxBuffer: 1 << 24 });
      const res = await run(exe, [], { env: { ...process.env, ASAN_OPTIONS: "detect_leaks=1", OMP_NUM_THREADS: "2" } }).catch((e: { stderr?: string }) => ({ stderr: e.stderr ?? String(e), failed: true }));
      expect("failed" in res ? res.stderr : "").toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe("scan outside the cpu target", () => {
  test("a target lowering groups as tensor expressions rejects a scan in one line", () => {
    const g = rnnGraph(S, "scan");
    const group = fusionGroups(g).find((grp) => grp.nodes.some(isScan))!;
    expect(group.nodes).toHaveLength(1);
    expect(() => groupTensors(group, new SizeVars())).toThrow(/node scan \(scan\) is a loop over a body graph, not a kernel/);
  });
});
