/**
 * MobileNet-v2 in the blocked layout: the layout pass turns its depthwise convolutions into
 * depthwise_conv2d_nchwc, so the network runs NCHW[x]c from the stem's output to the pool,
 * and the compiled model equals the interpreter in both layouts.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, test } from "vitest";
import { planTuning } from "../../cli/commands/tune.ts";
import { printGraph } from "../../compiler/graph/text/print.ts";
import { taskTemplate } from "../../compiler/targets/cpu/task-template.ts";
import type { Graph } from "../../compiler/graph/graph.ts";
import { interpret } from "../../compiler/graph/interpret.ts";
import { alterLayout, blockedLayoutPays } from "../../compiler/graph/passes/layout.ts";
import { compileGraph, cpuGraphLowering } from "../../compiler/targets/cpu/graph.ts";
import { hostVectorBytes } from "../../compiler/targets/cpu/host.ts";
import { mobilenetV2 } from "../../models/zoo/index.ts";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { lt } from "../../train/lt.ts";

const SHAPE = [1, 3, 32, 32];

/** The zoo's MobileNet-v2 (width 0.25) traced, its parameters bound as constants (as an imported ONNX model has them). */
function mobilenet(): Graph {
  const model = mobilenetV2({ width: 0.25, classes: 10, rng: new Rng(2) });
  const { graph, trace } = lt.trace(() => model.forward(lt.input("x", SHAPE)));
  const param = new Map([...trace.params].map(([p, v]) => [v, p]));
  return {
    ...graph,
    inputs: graph.inputs.filter((v) => !param.has(v)),
    constants: [...graph.constants, ...graph.inputs.filter((v) => param.has(v)).map((v) => ({ value: v, data: param.get(v)!.value.data }))],
  };
}

const ops = (g: Graph, op: string) => g.nodes.filter((n) => n.op === op);
const depthwise = (g: Graph) => ops(g, "conv2d").filter((n) => n.attrs["groups"] !== 1);

describe("MobileNet-v2 (width 0.25) in the blocked layout", () => {
  const g = mobilenet();

  test("block 8: all 17 depthwise convolutions are blocked and the network stays NCHW8c from the stem to the pool (layout auto takes it)", () => {
    expect(depthwise(g)).toHaveLength(17);
    const out = alterLayout(8).run(g);
    expect(ops(out, "depthwise_conv2d_nchwc")).toHaveLength(17);
    expect(ops(out, "conv2d_nchwc")).toHaveLength(34);
    // Only the stem (3 input channels) stays NCHW: one transform after it, one before the pool.
    expect(ops(out, "conv2d")).toHaveLength(1);
    const transforms = ops(out, "layout_transform");
    expect(transforms.map((n) => [n.attrs["src"], n.attrs["dst"]])).toEqual([["NCHW", "NCHW8c"], ["NCHW8c", "NCHW"]]);
    expect(blockedLayoutPays(g, out)).toBe(true);
  });

  test("block 16: the 8-channel layers stay NCHW, the transforms around them would cost more than blocking saves, and auto refuses", () => {
    const out = alterLayout(16).run(g);
    expect(ops(out, "layout_transform").length).toBeGreaterThan(20);
    expect(blockedLayoutPays(g, out)).toBe(false);
  });

  test("compiled blocked (layout nchwc) and NCHW, it equals the interpreter", async () => {
    const lanes = hostVectorBytes() / 4;
    const x = Tensor.random(SHAPE, "f32", 7);
    const want = interpret(g, [{ data: x.data as Float32Array, shape: SHAPE }]).outputs[0]!;
    let scale = 0;
    for (const v of want.data) scale = Math.max(scale, Math.abs(v));
    expect(scale).toBeGreaterThan(0);
    // On this host auto is nchwc whenever the host's block is 8 (see the first test).
    if (lanes === 8) expect(cpuGraphLowering(g, { layout: "auto" }).nodes.map((n) => n.op)).toEqual(cpuGraphLowering(g, { layout: "nchwc" }).nodes.map((n) => n.op));
    for (const layout of ["nchwc", "nchw"] as const) {
      const c = await compileGraph(g, { layout });
      const blocked = ops(c.graph, "depthwise_conv2d_nchwc").length;
      expect(blocked, layout).toBe(layout === "nchw" ? 0 : depthwise(g).filter((n) => (n.inputs[0]!.type.shape[1] as number) % lanes === 0).length);
      const got = c.run([x])[0]!.toArray();
      expect(got.length).toBe(want.data.length);
      got.forEach((v, i) => {
        if (!(Math.abs(v - want.data[i]!) <= 1e-4 * scale)) expect.fail(`layout ${layout}: logit ${i} is ${v}, the interpreter's ${want.data[i]}`);
      });
    }
  }, 600_000);

  test("lathe tune plans the blocked depthwise layers as tasks of the depthwise template", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-mobilenet-"));
    try {
      const file = path.join(dir, "mobilenet.lg");
      // Parameters as graph inputs, as tune-tasks.test.ts plans the zoo models (inlined, the weights would make a huge text file).
      const traced = lt.trace(() => mobilenetV2({ width: 0.25, classes: 10, rng: new Rng(2) }).forward(lt.input("x", SHAPE))).graph;
      writeFileSync(file, printGraph(traced, { inlineConstants: Infinity }));
      const { planned } = await planTuning(file, 100, { dim: [], const: [], layout: "nchwc" });
      const dw = planned.filter((p) => p.task.nodes[0]!.op === "depthwise_conv2d_nchwc");
      // 17 layers, fewer distinct shapes (identical groups share a task).
      expect(dw.length).toBeGreaterThan(5);
      for (const p of dw) expect(taskTemplate(p.task)?.kind, p.task.key).toBe("depthwise");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
