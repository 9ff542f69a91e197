/**
 * The loop-IR evaluator against the tensor-expression evaluator (compiler/te/evaluate.ts,
 * the reference): small kernels lowered the cpu target's way, evaluated after lowering and
 * after every loop-IR pass. f32 kernels: the reference accumulates in f64 and a kernel's
 * reductions round each partial sum to f32, so they agree within 1e-5 relative + 1e-6
 * absolute; integer kernels agree exactly.
 */
import { describe, expect, test } from "vitest";
import type { Expr } from "../te/expr.ts";
import { add, cast, floordiv, floormod, gt, int, lt, mul, select, sub, variable } from "../te/expr.ts";
import type { Tensor } from "../te/tensor.ts";
import { compute, placeholder, reduceAxis, rmax, sizeVar, sum } from "../te/tensor.ts";
import { evaluate } from "../te/evaluate.ts";
import { makeBuffer } from "../te/buffer.ts";
import type { Schedule } from "../schedule/schedule.ts";
import { createSchedule } from "../schedule/schedule.ts";
import { cpuTarget } from "../targets/cpu/index.ts";
import { webgpuPasses } from "../targets/webgpu/index.ts";
import { defaultSchedule } from "../targets/cpu/schedules/default.ts";
import { defaultGroupSchedule } from "../targets/cpu/lower-group.ts";
import { gpuDefaultSchedule } from "../targets/webgpu/schedules.ts";
import { GraphBuilder } from "../graph/builder.ts";
import { fusionGroups } from "../graph/passes/fuse.ts";
import { SizeVars } from "../graph/te-bridge.ts";
import { groupTensors } from "../lower/group.ts";
import { Rng } from "../../runtime/random.ts";
import { LatheError } from "../../core/errors.ts";
import type { Pass } from "./pass.ts";
import { printFunc } from "./print.ts";
import type { PrimFunc, Stmt } from "./stmt.ts";
import { mapStmt } from "./stmt.ts";
import { evaluateAfterEachPass, evaluatePrimFunc, firstDivergence, lowerAndEvaluateAfterEachPass, type PassStep, type Tolerance } from "./evaluate.ts";

const F32: Tolerance = { rtol: 1e-5, atol: 1e-6 };
const EXACT: Tolerance = {};
const VECTOR_BYTES = 32;

const rng = new Rng(23);
const randF = (n: number): Float64Array => Float64Array.from({ length: n }, () => Math.fround(rng.uniform(-1, 1)));
const randI = (n: number, lo: number, hi: number): Float64Array => Float64Array.from({ length: n }, () => Math.floor(rng.uniform(lo, hi)));

/** The reference outputs by name. */
function reference(outputs: readonly Tensor[], inputs: Record<string, Float64Array>, sizes: Record<string, number> = {}): Map<string, Float64Array> {
  const all = evaluate(outputs, inputs, sizes);
  return new Map(outputs.map((t) => [t.name, all.get(t)!]));
}

const printed = (steps: readonly PassStep[]): string => steps.map((s) => `// after ${s.pass}\n${printFunc(s.func)}`).join("\n");

/** Lowers `s`, runs the cpu passes one at a time, and checks every step against the reference. */
function checkEveryPass(s: Schedule, args: readonly Tensor[], outputs: readonly Tensor[], inputs: Record<string, Float64Array>, tol: Tolerance, passes: readonly Pass[] = cpuTarget.passes): PassStep[] {
  const steps = lowerAndEvaluateAfterEachPass(s, args, passes, inputs);
  expect(steps.map((x) => x.pass)).toEqual(["lower", ...passes.map((p) => p.name)]);
  const d = firstDivergence(steps, reference(outputs, inputs), tol);
  expect(d, d ? `${JSON.stringify({ ...d, error: d.error?.message })}\n${printed(steps)}` : "").toBeNull();
  return steps;
}

const finalIr = (steps: readonly PassStep[]): string => printFunc(steps.at(-1)!.func);

function matmul(m: number, n: number, k: number) {
  const A = placeholder([m, k], "f32", "A");
  const B = placeholder([k, n], "f32", "B");
  const C = compute([m, n], (i, j) => { const r = reduceAxis(k, "r"); return sum(r, mul(A.at(i!, r.var), B.at(r.var, j!))); }, "C");
  return { A, B, C, inputs: { A: randF(m * k), B: randF(k * n) } };
}

describe("loop-IR evaluator against the tensor-expression evaluator, after every cpu pass", () => {
  test("elementwise with broadcasting, default schedule", () => {
    const A = placeholder([5, 37], "f32", "A"), b = placeholder([37], "f32", "b"), c = placeholder([5, 1], "f32", "c");
    const Y = compute([5, 37], (i, j) => add(mul(A.at(i!, j!), b.at(j!)), c.at(i!, 0)), "Y");
    const s = createSchedule(Y);
    defaultSchedule(s, [Y], VECTOR_BYTES);
    checkEveryPass(s, [A, b, c, Y], [Y], { A: randF(5 * 37), b: randF(37), c: randF(5) }, F32);
  });

  test("vector selects and comparison masks (vectorized), exact for the 0/1 mask", () => {
    const A = placeholder([3, 16], "f32", "A"), B = placeholder([3, 16], "f32", "B");
    const Y = compute([3, 16], (i, j) => select(gt(A.at(i!, j!), 0), mul(A.at(i!, j!), 2), 1.5), "Y");
    const Z = compute([3, 16], (i, j) => cast("f32", gt(A.at(i!, j!), B.at(i!, j!))), "Z");
    const s = createSchedule([Y, Z]);
    for (const t of [Y, Z]) s.stage(t).vectorize(s.stage(t).axis[1]!);
    const steps = checkEveryPass(s, [A, B, Y, Z], [Y, Z], { A: randF(48), B: randF(48) }, EXACT);
    expect(finalIr(steps)).toMatch(/select\(\(A\[ramp/);
  });

  test("a symbolic size is inferred from an input's length", () => {
    const n = sizeVar("n");
    const A = placeholder([n, 6], "f32", "A");
    const Y = compute([n, 6], (i, j) => mul(A.at(i!, j!), 3), "Y");
    const s = createSchedule(Y);
    defaultSchedule(s, [Y], VECTOR_BYTES);
    const inputs = { A: randF(7 * 6) };
    const steps = lowerAndEvaluateAfterEachPass(s, [A, Y], cpuTarget.passes, inputs);
    expect(firstDivergence(steps, reference([Y], inputs, { n: 7 }), F32)).toBeNull();
    const first = steps[0]!;
    expect("outputs" in first && first.outputs.get("Y")).toHaveLength(42);
  });

  test("reductions (sum and max over rows), default schedule", () => {
    const X = placeholder([9, 45], "f32", "X");
    const S = compute([9], (i) => { const r = reduceAxis(45, "r"); return sum(r, X.at(i!, r.var)); }, "S");
    const M = compute([9], (i) => { const r = reduceAxis(45, "q"); return rmax(r, X.at(i!, r.var)); }, "M");
    const s = createSchedule([S, M]);
    defaultSchedule(s, [S, M], VECTOR_BYTES);
    checkEveryPass(s, [X, S, M], [S, M], { X: randF(9 * 45) }, F32);
  });

  test("matmul with the default cpu schedule (GEMM tiling)", () => {
    const { A, B, C, inputs } = matmul(13, 37, 19);
    const s = createSchedule(C);
    defaultSchedule(s, [C], VECTOR_BYTES, C);
    const steps = checkEveryPass(s, [A, B, C], [C], inputs, F32);
    expect(finalIr(steps)).toContain("ramp(");
  });

  test("matmul with transposed operands (transB packed column-last, transA copied row-first), default schedule", () => {
    // C = Aᵀ·Bᵀ with A stored [k, m] and B stored [n, k], as matmul's transA/transB read them.
    const [m, n, k] = [13, 37, 19];
    const A = placeholder([k, m], "f32", "A"), B = placeholder([n, k], "f32", "B");
    const C = compute([m, n], (i, j) => { const r = reduceAxis(k, "r"); return sum(r, mul(A.at(r.var, i!), B.at(j!, r.var))); }, "C");
    const s = createSchedule(C);
    defaultSchedule(s, [C], VECTOR_BYTES, C);
    const ir = finalIr(checkEveryPass(s, [A, B, C], [C], { A: randF(k * m), B: randF(n * k) }, F32));
    // The product's vectors read the packed panel contiguously, and the rows read the copy of A.
    expect(ir).toMatch(/B\.global\[ramp\(/);
    expect(ir).toMatch(/A\.global\[/);
    expect(ir).not.toMatch(/ \* x8\(B\[/);
  });

  test("a reduction reading its weight transposed (lstm_cell's x·w_ihᵀ) copies the weight column-last once, then loads it contiguously", () => {
    const [m, n, k] = [5, 24, 13];
    const X = placeholder([m, k], "f32", "X"), W = placeholder([n, k], "f32", "W");
    const Y = compute([m, n], (i, j) => { const r = reduceAxis(k, "r"); return sum(r, mul(X.at(i!, r.var), W.at(j!, r.var))); }, "Y");
    const s = createSchedule(Y);
    defaultSchedule(s, [Y], VECTOR_BYTES);
    const ir = finalIr(checkEveryPass(s, [X, W, Y], [Y], { X: randF(m * k), W: randF(n * k) }, F32));
    expect(ir).toMatch(/W\.global\[ramp\([^\n]*, 1, 8\)\]/);
    // The only strided reads of W are the copy's (once per call), none in the product's loop.
    const strided = ir.split("\n").filter((l) => /W\[ramp\([^\n]*, 13, 8\)\]/.test(l));
    expect(strided.length).toBeGreaterThan(0);
    expect(strided.every((l) => l.trim().startsWith("W.global["))).toBe(true);
  });

  test("a GEMM over a symbolic row count: its row blocks run without guards up to the last full block", () => {
    const nv = sizeVar("n");
    const A = placeholder([nv, 19], "f32", "A"), B = placeholder([19, 37], "f32", "B");
    const C = compute([nv, 37], (i, j) => { const r = reduceAxis(19, "r"); return sum(r, mul(A.at(i!, r.var), B.at(r.var, j!))); }, "C");
    const s = createSchedule(C);
    defaultSchedule(s, [C], VECTOR_BYTES, C);
    for (const n of [0, 1, 5, 6, 7, 13]) {
      const inputs = { A: randF(n * 19), B: randF(19 * 37) };
      const steps = lowerAndEvaluateAfterEachPass(s, [A, B, C], cpuTarget.passes, inputs);
      const d = firstDivergence(steps, reference([C], inputs, { n }), F32);
      expect(d, d ? `n = ${n}: ${JSON.stringify({ ...d, error: d.error?.message })}\n${printed(steps)}` : "").toBeNull();
    }
    const f = lowerAndEvaluateAfterEachPass(s, [A, B, C], cpuTarget.passes, { A: randF(7 * 19), B: randF(19 * 37) }).at(-1)!.func;
    // Each column part (the full panels, then the 5-column tail) has two row-block loops: the
    // first, from 0, holds no guard at all; the second, from the cut (at most one block), keeps them.
    const rowLoops: Extract<Stmt, { kind: "for" }>[] = [];
    const visit = (x: Stmt): Stmt => { if (x.kind === "for" && x.loopVar.name === "i.o") rowLoops.push(x); return mapStmt(x, visit, (e) => e); };
    visit(f.body);
    const guardsIn = (x: Stmt): number => {
      let k = 0;
      const count = (y: Stmt): Stmt => { if (y.kind === "if") k++; return mapStmt(y, count, (e) => e); };
      count(x);
      return k;
    };
    expect(rowLoops).toHaveLength(4);
    expect(rowLoops.map((l) => [l.min.kind === "const", guardsIn(l) > 0])).toEqual([[true, false], [false, true], [true, false], [false, true]]);
  });

  test("matmul split, reordered, vectorized, unrolled and parallel", () => {
    const { A, B, C, inputs } = matmul(12, 20, 11);
    const s = createSchedule(C);
    const st = s.stage(C);
    const [i, j] = st.axis as [typeof st.axis[0], typeof st.axis[0]];
    const [io, ii] = st.split(i, { factor: 4 });
    const [jo, ji] = st.split(j, { factor: 8 }); // 20 = 2·8 + a tail of 4
    const [ko, ki] = st.split(st.reduceAxis[0]!, { factor: 4 }); // 11 = 2·4 + a tail of 3
    st.reorder(io, jo, ko, ki, ii, ji);
    st.parallel(io);
    st.unroll(ii);
    st.vectorize(ji);
    const steps = checkEveryPass(s, [A, B, C], [C], inputs, F32);
    const ir = finalIr(steps);
    expect(ir).toContain("parallel");
    expect(ir).toContain("ramp(");
  });

  test("conv2d with padding, lowered from a graph the cpu target's way", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [1, 3, 7, 6]);
    const w = b.input("w", [4, 3, 3, 3]);
    const g = b.build([b.op1("relu", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] })])]);
    const group = fusionGroups(g)[0]!;
    const { inputs, outputs, anchor } = groupTensors(group, new SizeVars());
    const s = createSchedule(outputs);
    defaultGroupSchedule(s, outputs, anchor, group.anchor?.op ?? null, VECTOR_BYTES);
    const data = { [inputs[0]!.name]: randF(3 * 7 * 6), [inputs[1]!.name]: randF(4 * 3 * 3 * 3) };
    checkEveryPass(s, [...inputs, ...outputs], outputs, data, F32);
  });

  test("an integer kernel with floordiv and floormod of negative values is exact", () => {
    const A = placeholder([6, 20], "i32", "A");
    const Y = compute([6, 20], (i, j) => {
      const v = sub(add(mul(A.at(i!, j!), 7), mul(j!, 3)), 40);
      return add(floordiv(v, 3), mul(floormod(add(v, i!), 5), 1000));
    }, "Y");
    // floordiv of a loop index that lower-int-div turns into C's `/`.
    const Z = compute([6, 20], (i, j) => add(floordiv(add(mul(i!, 20), j!), 7), A.at(i!, j!)), "Z");
    const s = createSchedule([Y, Z]);
    for (const t of [Y, Z]) {
      const st = s.stage(t);
      const [, ji] = st.split(st.axis[1]!, { factor: 8 });
      st.vectorize(ji);
    }
    const steps = checkEveryPass(s, [A, Y, Z], [Y, Z], { A: randI(120, -50, 50) }, EXACT);
    expect(finalIr(steps)).toContain("/t");
  });

  test("i8 and i64 kernels wrap exactly as the reference does (vectorized)", () => {
    const A = placeholder([4, 16], "i8", "A"), B = placeholder([4, 16], "i64", "B");
    const Y = compute([4, 16], (i, j) => add(mul(A.at(i!, j!), 7), 100), "Y"); // i8: wraps past 127
    const Z = compute([4, 16], (i, j) => { const r = reduceAxis(16, "r"); return sum(r, mul(B.at(i!, r.var), cast("i64", add(j!, 1)))); }, "Z");
    const s = createSchedule([Y, Z]);
    s.stage(Y).vectorize(s.stage(Y).axis[1]!);
    s.stage(Z).vectorize(s.stage(Z).axis[1]!);
    const steps = checkEveryPass(s, [A, B, Y, Z], [Y, Z], { A: randI(64, -128, 128), B: randI(64, -1e9, 1e9) }, EXACT);
    expect(finalIr(steps)).toContain("ramp(");
  });

  test("GPU-bound loops and a shared stage: serially after every webgpu pass; in lock step from thread-sync on", () => {
    const A = placeholder([10, 12], "f32", "A");
    const S = compute([10, 12], (i, j) => mul(A.at(i!, j!), 2), "S");
    const Y = compute([10, 12], (i, j) => add(S.at(i!, j!), S.at(i!, sub(11, j!))), "Y");
    const s = createSchedule(Y);
    const y = s.stage(Y), sh = s.stage(S);
    y.bind(y.axis[0]!, "blockIdx.x");
    y.bind(y.axis[1]!, "threadIdx.x");
    sh.scope = "shared";
    sh.computeAt(y, y.axis[0]!);
    sh.bind(sh.axis[1]!, "threadIdx.x");
    const inputs = { A: randF(120) };
    const steps = checkEveryPass(s, [A, Y], [Y], inputs, F32, webgpuPasses);
    expect(finalIr(steps)).toContain("barrier(shared)");
    // Run as a GPU runs it, each thread reads S[11 − j], which another thread writes: right
    // only once thread-sync has put a barrier between the writes and the reads.
    const ref = reference([Y], inputs);
    const simt = evaluateAfterEachPass(steps[0]!.func, webgpuPasses, inputs, { threads: "lockstep" });
    const sync = webgpuPasses.findIndex((p) => p.name === "thread-sync") + 1;
    simt.forEach((st, k) => expect(firstDivergence([st], ref, F32) === null, st.pass).toBe(k >= sync));
  });

  test("the webgpu shared-memory matmul (cooperative fetches, barriers inside thread loops), in lock step", () => {
    const { A, B, C, inputs } = matmul(10, 12, 9);
    const s = createSchedule(C);
    gpuDefaultSchedule(s, [C], C, { threads: 16, vector: 2, ty: 2, tx: 4, ry: 2, rx: 2, bk: 4, unroll: true });
    const steps = checkEveryPass(s, [A, B, C], [C], inputs, F32, webgpuPasses);
    const ir = finalIr(steps);
    expect(ir).toContain("in shared");
    expect(ir).toMatch(/thread\(threadIdx\.x\):[^]*barrier\(shared\)/);
    const ref = reference([C], inputs);
    const final = steps.at(-1)!.func;
    const simt = evaluateAfterEachPass(final, [], inputs, { threads: "lockstep" });
    expect(firstDivergence(simt, ref, F32)).toBeNull();
    // Without its barriers, threads read tiles the others have not filled yet.
    const noBarriers = evaluateAfterEachPass(final, [dropBarriers], inputs, { threads: "lockstep" });
    expect(firstDivergence(noBarriers, ref, F32)?.pass).toBe("broken-drop-barriers");
  });
});

/** A test-local pass that removes every barrier. */
const dropBarriers: Pass = {
  name: "broken-drop-barriers",
  run: (f) => {
    const go = (s: Stmt): Stmt => (s.kind === "barrier" ? { kind: "nop" } : mapStmt(s, go, (e) => e));
    return { ...f, body: go(f.body) };
  },
};

/** A test-local pass that breaks the kernel: the outermost loop runs one iteration fewer. */
const dropLastIteration: Pass = {
  name: "broken-drop-iteration",
  run: (f) => {
    let done = false;
    const go = (s: Stmt): Stmt => {
      if (!done && s.kind === "for") {
        done = true;
        return { ...s, extent: sub(s.extent, 1) };
      }
      return mapStmt(s, go, (e) => e);
    };
    return { ...f, body: go(f.body) };
  },
};

/** A test-local pass that swaps the two indices of every two-index store (a transposed write). */
const swapStoreIndex: Pass = {
  name: "broken-swap-index",
  run: (f) => {
    const go = (s: Stmt): Stmt => {
      const x = mapStmt(s, go, (e) => e);
      return x.kind === "store" && x.indices.length === 2 ? { ...x, indices: [x.indices[1]!, x.indices[0]!] } : x;
    };
    return { ...f, body: go(f.body) };
  },
};

describe("finding the first pass after which the output differs", () => {
  const setup = () => {
    const { A, B, C, inputs } = matmul(6, 6, 5);
    const s = createSchedule(C);
    defaultSchedule(s, [C], VECTOR_BYTES, C);
    return { s, A, B, C, inputs };
  };

  test.each([
    { broken: dropLastIteration, after: "vectorize" },
    { broken: dropLastIteration, after: "lower-int-div" },
    { broken: swapStoreIndex, after: "cpu-check" },
  ])("$broken.name inserted after $after is named", ({ broken, after }) => {
    const { s, A, B, C, inputs } = setup();
    const k = cpuTarget.passes.findIndex((p) => p.name === after);
    const passes = [...cpuTarget.passes.slice(0, k + 1), broken, ...cpuTarget.passes.slice(k + 1)];
    const steps = lowerAndEvaluateAfterEachPass(s, [A, B, C], passes, inputs);
    const d = firstDivergence(steps, reference([C], inputs), F32);
    expect(d?.pass).toBe(broken.name);
    expect(d?.index).toBe(k + 2);
    // Without a reference, the lowered kernel is the reference: the same pass is found.
    expect(firstDivergence(steps, undefined, F32)?.pass).toBe(broken.name);
  });

  test("the unbroken pipeline matches the lowered kernel", () => {
    const { s, A, B, C, inputs } = setup();
    expect(firstDivergence(lowerAndEvaluateAfterEachPass(s, [A, B, C], cpuTarget.passes, inputs), undefined, F32)).toBeNull();
  });

  test("a pass that makes the kernel read out of bounds is named, with the evaluator's error", () => {
    const A = placeholder([8], "f32", "A");
    const Y = compute([8], (i) => mul(A.at(i!), 2), "Y");
    const s = createSchedule(Y);
    const shiftLoads: Pass = {
      name: "broken-shift-load",
      run: (f) => {
        const fe = (e: Expr): Expr => (e.kind === "load" ? { ...e, indices: [add(e.indices[0]!, 1)] } : e);
        const go = (x: Stmt): Stmt => mapStmt(x, go, (e) => (e.kind === "bin" ? { ...e, a: fe(e.a) } : e));
        return { ...f, body: go(f.body) };
      },
    };
    const inputs = { A: randF(8) };
    const d = firstDivergence(lowerAndEvaluateAfterEachPass(s, [A, Y], [shiftLoads], inputs), reference([Y], inputs));
    expect(d?.pass).toBe("broken-shift-load");
    expect(d?.error?.message).toMatch(/out-of-bounds load A\[8\]: shape \[8\]/);
  });
});

describe("evaluatePrimFunc", () => {
  /** for i in [0, n): Y[i + shift] = A[i + loadShift] */
  function copy(n: number, loadShift: number, storeShift: number, forKind: "serial" | "parallel" = "serial"): PrimFunc {
    const A = makeBuffer("A", "f32", [int(n)]), Y = makeBuffer("Y", "f32", [int(n)]);
    const i = variable("i");
    const body: Stmt = {
      kind: "for", loopVar: i, min: int(0), extent: int(n), forKind,
      body: { kind: "store", buffer: Y, indices: [add(i, storeShift)], value: { kind: "load", buffer: A, indices: [add(i, loadShift)], dtype: "f32" } },
    };
    return { name: "copy", params: [A, Y], body, sizeVars: [] };
  }

  test("writes outputs in place, rounded to the buffer's dtype", () => {
    const Y = new Float64Array(4);
    evaluatePrimFunc(copy(4, 0, 0), { A: Float64Array.from([0.1, 1, 2, 3]), Y });
    expect([...Y]).toEqual([Math.fround(0.1), 1, 2, 3]);
  });

  test("an out-of-bounds load or store throws naming the buffer and index, and leaves outputs untouched", () => {
    const Y = new Float64Array(4).fill(7);
    expect(() => evaluatePrimFunc(copy(4, 1, 0), { A: new Float64Array(4), Y })).toThrow(/out-of-bounds load A\[4\]: shape \[4\]/);
    expect(() => evaluatePrimFunc(copy(4, 0, -1), { A: new Float64Array(4), Y })).toThrow(/out-of-bounds store Y\[-1\]: shape \[4\]/);
    expect([...Y]).toEqual([7, 7, 7, 7]);
    try { evaluatePrimFunc(copy(4, 1, 0), { A: new Float64Array(4), Y }); } catch (e) { expect(e).toBeInstanceOf(LatheError); }
  });

  test("a vector load out of bounds names the lane", () => {
    const A = makeBuffer("A", "f32", [int(4)]), Y = makeBuffer("Y", "f32", [int(4)]);
    const ramp = (base: number): Expr => ({ kind: "ramp", base: int(base), stride: int(1), lanes: 4, dtype: "i32" });
    const f: PrimFunc = {
      name: "vcopy", params: [A, Y], sizeVars: [],
      body: { kind: "store", buffer: Y, indices: [ramp(0)], value: { kind: "load", buffer: A, indices: [ramp(1)], dtype: "f32", lanes: 4 } },
    };
    expect(() => evaluatePrimFunc(f, { A: new Float64Array(4), Y: new Float64Array(4) })).toThrow(/out-of-bounds load A\[4\] \(lane 3\)/);
  });

  test("i64 parameters may be BigInt64Arrays", () => {
    const A = makeBuffer("A", "i64", [int(2)]), Y = makeBuffer("Y", "i64", [int(2)]);
    const i = variable("i");
    const f: PrimFunc = {
      name: "twice", params: [A, Y], sizeVars: [],
      body: { kind: "for", loopVar: i, min: int(0), extent: int(2), forKind: "serial", body: { kind: "store", buffer: Y, indices: [i], value: mul({ kind: "load", buffer: A, indices: [i], dtype: "i64" }, 2) } },
    };
    const out = new BigInt64Array(2);
    evaluatePrimFunc(f, { A: BigInt64Array.from([3n, -(2n ** 40n)]), Y: out });
    expect([...out]).toEqual([6n, -(2n ** 41n)]);
  });

  test("parallelOrder reverse exposes iterations that depend on each other", () => {
    // Every iteration writes Y[0]: the last one to run wins.
    const A = makeBuffer("A", "f32", [int(4)]), Y = makeBuffer("Y", "f32", [int(1)]);
    const i = variable("i");
    const f: PrimFunc = {
      name: "race", params: [A, Y], sizeVars: [],
      body: { kind: "for", loopVar: i, min: int(0), extent: int(4), forKind: "parallel", body: { kind: "store", buffer: Y, indices: [int(0)], value: { kind: "load", buffer: A, indices: [i], dtype: "f32" } } },
    };
    const run = (order: "forward" | "reverse"): number => {
      const out = new Float64Array(1);
      evaluatePrimFunc(f, { A: Float64Array.from([1, 2, 3, 4]), Y: out }, { parallelOrder: order });
      return out[0]!;
    };
    expect([run("forward"), run("reverse")]).toEqual([4, 1]);
  });

  test("lock step: a barrier that only some threads reach is an error, not a hang or a silent answer", () => {
    const Y = makeBuffer("Y", "f32", [int(4)]);
    const t = variable("tx");
    const f: PrimFunc = {
      name: "sync", params: [Y], sizeVars: [],
      body: {
        kind: "for", loopVar: t, min: int(0), extent: int(4), forKind: "thread", thread: "threadIdx.x",
        body: { kind: "seq", body: [
          { kind: "store", buffer: Y, indices: [t], value: cast("f32", t) },
          { kind: "if", cond: lt(t, 2), then: { kind: "barrier", scope: "shared" }, else: null },
        ] },
      },
    };
    const out = new Float64Array(4);
    evaluatePrimFunc(f, { Y: out }); // serially, the barrier orders nothing
    expect([...out]).toEqual([0, 1, 2, 3]);
    expect(() => evaluatePrimFunc(f, { Y: new Float64Array(4) }, { threads: "lockstep" })).toThrow(/2 thread\(s\) wait at barrier 1 that 2 other thread\(s\) never reach/);
  });

  test("a missing array, a wrong length and an unbound buffer are one-line errors", () => {
    expect(() => evaluatePrimFunc(copy(4, 0, 0), { A: new Float64Array(4) })).toThrow(/no array given for parameter Y/);
    expect(() => evaluatePrimFunc(copy(4, 0, 0), { A: new Float64Array(3), Y: new Float64Array(4) })).toThrow(/A has 3 element\(s\), but its shape \[4\] needs 4/);
    const T = makeBuffer("T", "f32", [int(4)]), Y = makeBuffer("Y", "f32", [int(4)]);
    const f: PrimFunc = { name: "k", params: [Y], sizeVars: [], body: { kind: "store", buffer: Y, indices: [int(0)], value: { kind: "load", buffer: T, indices: [int(0)], dtype: "f32" } } };
    expect(() => evaluatePrimFunc(f, { Y: new Float64Array(4) })).toThrow(/load of T, which is neither a parameter nor allocated/);
    const steps = evaluateAfterEachPass(copy(4, 0, 0), [], { A: new Float64Array(4), X: new Float64Array(4) });
    expect(firstDivergence(steps)?.error?.message).toMatch(/kernel copy has no parameter named X \(its parameters: A, Y\)/);
  });

  test("a local allocation is poisoned: reading it before writing shows as NaN", () => {
    const Y = makeBuffer("Y", "f32", [int(2)]), T = makeBuffer("T", "f32", [int(2)], "local");
    const f: PrimFunc = {
      name: "k", params: [Y], sizeVars: [],
      body: {
        kind: "allocate", buffer: T,
        body: { kind: "seq", body: [
          { kind: "store", buffer: T, indices: [int(0)], value: { kind: "const", value: 5, dtype: "f32" } },
          { kind: "store", buffer: Y, indices: [int(0)], value: { kind: "load", buffer: T, indices: [int(0)], dtype: "f32" } },
          { kind: "store", buffer: Y, indices: [int(1)], value: { kind: "load", buffer: T, indices: [int(1)], dtype: "f32" } },
        ] },
      },
    };
    const out = new Float64Array(2);
    evaluatePrimFunc(f, { Y: out });
    expect(out[0]).toBe(5);
    expect(out[1]).toBeNaN();
  });
});

