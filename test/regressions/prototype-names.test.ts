// Names read from user files (an .npy descr, an op or attribute in .lg text, an ONNX input or
// dim_param, a --method, a crowd-state layout entry) once indexed plain objects, so
// "constructor", "__proto__" or "toString" found Object.prototype's members: TypeErrors or
// silently wrong results. Each must be an ordinary unknown name now.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { parseGraph } from "../../compiler/graph/text/parse.ts";
import { getOp, normalizeAttrs, ops } from "../../compiler/ops/registry.ts";
import { importOnnx } from "../../compiler/frontend/onnx/import.ts";
import { modelBytes, valueInfo } from "../../compiler/frontend/onnx/testing.ts";
import { lower } from "../../compiler/driver/kernel.ts";
import { aggregate } from "../../cli/commands/crowd.ts";
import { parseDims, parsePairs } from "../../cli/load-model.ts";
import { loadCrowdState, saveCrowdState, STATE_MANIFEST } from "../../models/crowd/state.ts";
import type { OnlineDawidSkeneState } from "../../models/crowd/online.ts";
import { decodeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";

const NAMES = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
const root = mkdtempSync(join(tmpdir(), "lathe-proto-names-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The error `f` throws; fails the test when it returns or throws something that is not a LatheError. */
function latheError(f: () => unknown): LatheError {
  try {
    f();
  } catch (e) {
    if (e instanceof LatheError) return e;
    throw new Error(`expected a LatheError, got ${(e as Error).constructor.name}: ${(e as Error).message}`);
  }
  throw new Error("expected a LatheError, but nothing was thrown");
}

/** A version-1.0 .npy file of two zero bytes with this descr (header padded to 64 bytes as numpy does). */
function npyWithDescr(descr: string): Uint8Array {
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (2,), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  const header = dict + " ".repeat(total - 10 - dict.length - 1) + "\n";
  const out = new Uint8Array(total + 16);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  return out;
}

describe("prototype-named lookups are unknown names", () => {
  test.each(NAMES)(".npy descr '<%s' is an unsupported dtype naming the file", (name) => {
    expect(latheError(() => decodeNpy(npyWithDescr(`<${name}`), "x.npy")).message).toMatch(new RegExp(`^x\\.npy: unsupported dtype '<${name}'`));
    expect(decodeNpy(npyWithDescr("<f8"), "ok.npy").shape).toEqual([2]); // the same file with a real descr reads
  });

  test.each(NAMES)("op '%s' in graph text is an unknown op at its position; the registry has no such op", (name) => {
    const text = `graph g(x: f32[2]) {\n  y = ${name}(x)\n  return y\n}\n`;
    expect(latheError(() => parseGraph(text, { source: "m.lg" })).message).toBe(`m.lg:2:7: unknown op '${name}'`);
    expect(latheError(() => getOp(name, "n1")).message).toBe(`node n1: unknown op "${name}"`);
    expect(Object.hasOwn(ops, name)).toBe(false);
    expect((ops as Record<string, unknown>)[name]).toBeUndefined();
  });

  test.each(NAMES)("attribute '%s' is an unknown attribute, not silently dropped", (name) => {
    const value = name === "__proto__" ? "[1, 2]" : "1";
    const text = `graph g(x: f32[2, 3]) {\n  y = sum(x, axes=[1], ${name}=${value})\n  return y\n}\n`;
    expect(latheError(() => parseGraph(text, { source: "m.lg" })).message).toMatch(new RegExp(`^m\\.lg:2:\\d+: node y \\(sum\\): unknown attribute "${name}"`));
    // The registry checks own keys of what it is given (an object built with fromEntries has "__proto__" as its own).
    expect(latheError(() => normalizeAttrs(getOp("sum"), Object.fromEntries([["axes", [1]], [name, 1]]), "n")).message).toMatch(/unknown attribute/);
  });

  const onnxModel = (input: string, dim: string) => modelBytes({
    inputs: [valueInfo(input, "f32", [dim, 2])], outputs: [valueInfo("y", "f32", [dim, 2])],
    nodes: [{ op: "Relu", inputs: [input], outputs: ["y"], name: "r" }],
  });

  test.each(NAMES.filter((n) => n !== "__proto__"))("ONNX: an input and a dim_param both named '%s': not bound by an empty bind, the dim stays symbolic", (name) => {
    const m = importOnnx(onnxModel(name, name), { bind: {}, dims: {} });
    expect(m.inputs.map((v) => v.name)).toEqual([name]); // before: Object's member was taken for a bound tensor
    expect(m.inputs[0]!.shape).toEqual([name, 2]); // before: the dim was Object's function
    expect(m.bound).toEqual([]);
  });

  test("ONNX: an input and a dim named __proto__ (own keys of bind/dims, as fromEntries makes them) bind", () => {
    const dims = parseDims(["__proto__=3"]);
    expect(Object.hasOwn(dims, "__proto__")).toBe(true); // before: assigning out["__proto__"] dropped the pair
    expect(importOnnx(onnxModel("x", "__proto__"), { dims }).inputs[0]!.shape).toEqual([3, 2]);
    const bind = Object.fromEntries([["__proto__", Tensor.zeros([1, 2], "f32")]]);
    expect(importOnnx(onnxModel("__proto__", "n"), { bind }).bound).toEqual(["__proto__"]);
    expect(parsePairs(["constructor=a.npy"], "--const")).toEqual(Object.fromEntries([["constructor", "a.npy"]]));
  });

  test.each(NAMES)("lathe crowd aggregate --method %s is an unknown method", async (name) => {
    const csv = join(root, "labels.csv");
    writeFileSync(csv, "task,worker,label\nt1,w1,a\nt1,w2,a\nt2,w1,b\nt2,w2,b\n");
    await expect(aggregate(csv, { method: name })).rejects.toThrow(new RegExp(`^unknown method "${name}"; one of `));
  });

  test.each(NAMES)("a compile target named '%s' is unknown", (name) => {
    expect(() => lower(null as never, [], { target: name })).toThrow(new RegExp(`^unknown target "${name}"`));
  });

  test("a crowd state whose layout names dtype 'constructor' is refused naming the manifest", () => {
    const dir = join(root, "state");
    // A two-item, one-worker, two-class state written by the real writer, then its manifest edited.
    const state: OnlineDawidSkeneState = {
      options: { maxIter: 5, tol: 1e-6, smoothing: 0.01, tau: 1, kappa: 0.7, refresh: false }, t: 1,
      items: ["a", "b"], workers: ["w"], classes: ["x", "y"],
      item: Int32Array.from([0, 1]), worker: Int32Array.from([0, 0]), label: Int32Array.from([0, 1]), seen: Uint8Array.from([1, 1]),
      stats: new Float64Array(4), mass: new Float64Array(2), post: Float64Array.from([1, 0, 0, 1]), logConf: null, logPrior: null,
    };
    saveCrowdState(dir, state);
    expect(Array.from(loadCrowdState(dir)!.state.post)).toEqual([1, 0, 0, 1]);
    const file = join(dir, STATE_MANIFEST);
    const m = JSON.parse(readFileSync(file, "utf8"));
    m.arrays.layout.find((a: { name: string }) => a.name === "post").dtype = "constructor";
    writeFileSync(file, JSON.stringify(m));
    expect(latheError(() => loadCrowdState(dir)).message).toMatch(/state\/state\.json: array "post" has a malformed layout entry \(dtype "constructor"/);
  });
});
