// The target-plugin interface: loading and validating plugin packages, the cpu target
// through the registry, BYOC partitioning, the cpu plugin's device and tuning hooks.
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { GraphBuilder } from "../graph/builder.ts";
import { compileGraph, lowerGraph } from "./cpu/graph.ts";
import { fusionGroups } from "../graph/passes/fuse.ts";
import { groupTensors } from "../lower/group.ts";
import { SizeVars } from "../graph/te-bridge.ts";
import { createSchedule } from "../schedule/schedule.ts";
import { groupTaskKey } from "../autotune/task.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { interpret } from "../graph/interpret.ts";
import { expectInterpreter, mlp } from "../../test/plugin/fixtures.ts";
import { lowerGroupFor } from "./byoc.ts";
import { cpuPlugin } from "./cpu/plugin.ts";
import { hostVectorBytes } from "./cpu/host.ts";
import { defineTarget } from "./plugin.ts";
import { getTarget, listTargets, loadPlugin, registerTarget } from "./registry.ts";
import { compile } from "../driver/compile.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-plugin-"));
const rng = new Rng(5);
const rand = (n: number, s = 1) => Float32Array.from({ length: n }, () => rng.uniform(-s, s));

/** A plugin package in a temporary directory: package.json plus index.mjs with `source`. */
function pkg(name: string, source: string, pkgJson: object = { name, type: "module", main: "index.mjs" }): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkgJson));
  writeFileSync(path.join(dir, "index.mjs"), source);
  return dir;
}

describe("loading plugin packages", () => {
  test("the example package loads, registers openblas-cpu, and loading it again is harmless", async () => {
    const [t] = await loadPlugin("./examples/openblas-target", ROOT);
    expect(t!.name).toBe("openblas-cpu");
    expect(getTarget("openblas-cpu")).toBe(t);
    expect(listTargets()).toEqual(expect.arrayContaining(["cpu", "vta", "openblas-cpu"]));
    expect(t!.patterns!.map((p) => p.ops.join("→"))).toEqual(["matmul→add", "matmul"]);
    expect(t!.options?.linkFlags).toEqual(["-lopenblas"]);
    expect((await loadPlugin(path.join(ROOT, "examples/openblas-target")))[0]).toBe(t);
  });

  test("a package whose target lacks a member is rejected by package, export and member", async () => {
    const dir = pkg("no-build", `export default { name: "nobuild", description: "d", passes: [] };`);
    await expect(loadPlugin(dir)).rejects.toThrow(/plugin package .*no-build, export "default": target nobuild is missing member "build"/);
    const dir2 = pkg("no-desc", `export const targets = [{ name: "nodesc", passes: [], graph: { run: async () => [] } }];`);
    await expect(loadPlugin(dir2)).rejects.toThrow(/export "targets\[0\]": target nodesc is missing member "description"/);
    const dir3 = pkg("no-codegen", `export default { name: "nocg", description: "d", passes: [], build: async () => null };`);
    await expect(loadPlugin(dir3)).rejects.toThrow(/missing member "codegen"/);
    const dir4 = pkg("bad-pattern", `export default { name: "badpat", description: "d", passes: [], graph: { run: async () => [] },
      patterns: [{ name: "p", ops: ["matmool"], emit: () => "" }] };`);
    await expect(loadPlugin(dir4)).rejects.toThrow(/patterns\[0\] \(p\) names op "matmool", which is not in the op registry/);
    const dir5 = pkg("nothing", `export const answer = 42;`);
    await expect(loadPlugin(dir5)).rejects.toThrow(/plugin package .*nothing .*exports no target/);
    const dir6 = pkg("bad-device", `export default { name: "baddev", description: "d", passes: [], graph: { run: async () => [] }, device: { alloc() {} } };`);
    await expect(loadPlugin(dir6)).rejects.toThrow(/device is missing member "upload"/);
  });

  test("missing packages and entry files are named", async () => {
    await expect(loadPlugin("./no/such/dir", tmp)).rejects.toThrow(/plugin package \.\/no\/such\/dir: .* does not exist/);
    await expect(loadPlugin("no-such-lathe-plugin", tmp)).rejects.toThrow(/plugin package no-such-lathe-plugin: not found/);
    const dir = pkg("bad-main", "", { name: "bad-main", type: "module", main: "missing.js" });
    await expect(loadPlugin(dir)).rejects.toThrow(/names missing\.js, which does not exist/);
    const dir2 = pkg("throws", `throw new Error("boom at import");`);
    await expect(loadPlugin(dir2)).rejects.toThrow(/plugin package .*throws: importing .* failed: boom at import/);
  });

  test("a second target under a taken name is an error", () => {
    expect(() => registerTarget(defineTarget({ ...cpuPlugin, description: "impostor" }))).toThrow(/a target named "cpu" is already registered/);
    expect(() => defineTarget({ ...cpuPlugin, name: "Bad Name" })).toThrow(/must be lower-case/);
  });
});

describe("the cpu target through the plugin interface", () => {
  test("compiles an MLP to the same C++ and the same results as the built-in path", async () => {
    const g = mlp();
    const plain = await compileGraph(g);
    const viaPlugin = await compileGraph(g, { target: getTarget("cpu") });
    expect(viaPlugin.source).toBe(plain.source);
    expect(viaPlugin.target).toBe("cpu");
    for (const n of [1, 6]) {
      const x = new Tensor(rand(n * 20), [n, 20], "f32");
      const a = plain.run([x])[0]!, b = viaPlugin.run([x])[0]!;
      expect(b.toArray()).toEqual(a.toArray());
      expectInterpreter(g, [x], [b]);
    }
  });

  test("a blocked convolution gets the same untuned schedule (its template's default config) both ways", async () => {
    const lanes = hostVectorBytes() / 4;
    const b = new GraphBuilder();
    const x = b.input("x", [1, 2 * lanes, 10, 10]);
    const w = b.constant("w", rand(2 * lanes * 2 * lanes * 9, 0.2), [2 * lanes, 2 * lanes, 3, 3]);
    const g = b.build([b.op1("relu", [b.op1("conv2d", [x, w], { pads: [1, 1, 1, 1] })])]);
    const plain = await compileGraph(g, { layout: "nchwc" });
    const viaPlugin = await compileGraph(g, { layout: "nchwc", target: getTarget("cpu") });
    expect(plain.source).toContain("conv2d_nchwc");
    expect(viaPlugin.source).toBe(plain.source);
  });

  test("the device hook allocates host buffers and launches built kernels", async () => {
    const b = new GraphBuilder();
    const x = b.input("x", [5], "f32");
    const g = b.build([b.op1("relu", [x])]);
    const k = lowerGraph(g, { target: cpuPlugin }).kernels[0]!;
    const mod = await cpuPlugin.build!([k.func]);
    const dev = cpuPlugin.device!;
    const xb = dev.alloc("f32", [5]), yb = dev.alloc("f32", [5]);
    await dev.upload(xb, Float32Array.from([-2, -0.5, 0, 1.5, 3]));
    await dev.launch(mod, k.func.name, [xb, yb]);
    await dev.sync();
    expect([...await dev.download(yb)]).toEqual([0, 0, 0, 1.5, 3]);
    await expect(dev.launch(mod, k.func.name, [xb, { dtype: "f32", shape: [5] }])).rejects.toThrow(/was not allocated by this device/);
  });

  test("the tuning hook gives a knob space for a matmul group, and a tuned config is applied", () => {
    const b = new GraphBuilder();
    const x = b.input("x", [32, 64], "f32");
    const g = b.build([b.op1("matmul", [x, b.constant("w", rand(64 * 32), [64, 32])])]);
    const group = fusionGroups(g)[0]!;
    const sizes = new SizeVars();
    const { outputs, anchor } = groupTensors(group, sizes);
    const s = createSchedule(outputs);
    const t = cpuPlugin.tuning!(s, { group, outputs, anchor, anchorOp: "matmul" });
    expect(t).not.toBeNull();
    expect(t!.space.size).toBeGreaterThan(1);
    const config = t!.space.get(t!.space.size - 1);
    const tuned = lowerGroupFor(cpuPlugin, group, "k", sizes, new Map([[groupTaskKey(group, "cpu"), config]]));
    expect(tuned.tuned).toBe(true);
    expect(lowerGroupFor(cpuPlugin, group, "k", sizes).tuned).toBe(false);
  });
});

describe("BYOC partitioning", () => {
  test("matched chains become their own kernels, in an order where producers run first", async () => {
    const [t] = await loadPlugin("./examples/openblas-target", ROOT);
    const g = mlp();
    const lg = lowerGraph(g, { target: t! });
    const names = lg.kernels.map((k) => k.func.name);
    expect(names.filter((n) => n.includes("_ext_") || n.startsWith("ext_"))).toHaveLength(2);
    expect(names.some((n) => /fused_\d+_matmul/.test(n))).toBe(false);
    const known = new Set([...g.inputs, ...g.constants.map((c) => c.value)]);
    for (const grp of lg.groups) {
      for (const v of grp.inputs) expect(known.has(v)).toBe(true);
      for (const n of grp.nodes) for (const o of n.outputs) known.add(o);
    }
    // Every node is in exactly one kernel.
    expect(lg.groups.flatMap((grp) => grp.nodes).length).toBe(g.nodes.length);
  });
});

describe("vta through the registry", () => {
  test("its graph runner offloads qmatmul + requantize and equals the interpreter bit for bit", async () => {
    const vta = getTarget("vta");
    expect(vta.build).toBeUndefined();
    const b = new GraphBuilder();
    const X = b.input("x", [2, 32], "i8"), W = b.input("w", [16, 32], "i8");
    const y = b.op1("requantize", [b.op1("qmatmul", [X, W])], { shift: 6, relu: true });
    const g = b.build([b.op1("relu", [y])]);
    const r = new Rng(9);
    const ins = [
      { data: Int8Array.from({ length: 64 }, () => r.int(-128, 128)), shape: [2, 32] },
      { data: Int8Array.from({ length: 512 }, () => r.int(-128, 128)), shape: [16, 32] },
    ];
    const got = await vta.graph!.run(g, ins);
    const want = interpret(g, ins).outputs;
    expect(got[0]!.shape).toEqual([2, 16]);
    expect(Array.from(got[0]!.data)).toEqual(Array.from(want[0]!.data));
    expect(want[0]!.data.some((v) => v > 0)).toBe(true);
    // The same graph through the driver: a module whose run takes and returns tensors.
    const m = await compile(g, "vta");
    const out = await m.run(ins.map((x) => Tensor.fromArray(x.data, x.shape, "i8")));
    expect(out[0]!.dtype).toBe(g.outputs[0]!.type.dtype);
    expect(out[0]!.toArray()).toEqual(Array.from(want[0]!.data));
  });
});
