/**
 * A training step on the GPU: the same step graph as the cpu step (train/step.ts's
 * buildStepGraph: forward, backward by autodiff, optimizer update), compiled for webgpu.
 * Parameters, state parameters and optimizer slots stay in device buffers between steps;
 * each is double-buffered (a step reads one set and writes the other, then they swap),
 * since WebGPU does not allow a kernel to bind one buffer for reading and writing at once.
 * Only the batch, the learning rate and the step counter are uploaded per step, and only
 * the loss is read back; `download()` copies the parameters into their host tensors.
 */
import { LatheError } from "../core/errors.ts";
import type { Value } from "../compiler/graph/graph.ts";
import { deadCodeElimination } from "../compiler/graph/passes/dce.ts";
import { shapeSize } from "../runtime/shape.ts";
import { Tensor } from "../runtime/tensor.ts";
import type { Batch, InputSpec } from "./feed.ts";
import type { Tracer } from "./lt.ts";
import type { Layer } from "./nn/module.ts";
import { applyLayer } from "./nn/module.ts";
import type { Optimizer } from "./optim/optimizer.ts";
import type { Parameter } from "./parameter.ts";
import { buildStepGraph } from "./step.ts";
import type { GpuBuffer } from "../compiler/targets/webgpu/device.ts";
import type { WebGpuGraph, WebGpuGraphOptions } from "../compiler/targets/webgpu/graph.ts";
import { compile } from "../compiler/driver/compile.ts";

export interface GpuStepFunction {
  /** Runs one step on `batch` and resolves to the loss before the update. */
  (batch: Batch): Promise<number>;
  readonly compiled: WebGpuGraph;
  readonly parameters: readonly Parameter[];
  readonly steps: number;
  /** Copies the device's parameters (trainable and state) into their `Parameter.value` tensors. */
  download(): Promise<void>;
  /** The optimizer's slots for `p`, read from the device. */
  optimizerState(p: Parameter): Promise<Tensor[]>;
}

/** A device-resident tensor: the current buffer and the one the next step writes. */
interface Resident { cur: GpuBuffer; next: GpuBuffer }

export async function compileLossStepWebGpu(
  lossFn: (inputs: Record<string, Tracer>) => Tracer,
  optimizer: Optimizer,
  inputs: Readonly<Record<string, InputSpec>>,
  opts: WebGpuGraphOptions = {},
): Promise<GpuStepFunction> {
  const sg = buildStepGraph(lossFn, optimizer, inputs);
  const graph = deadCodeElimination(sg.graph);
  const compiled = await compile(graph, "webgpu", opts);
  const device = compiled.device;
  const resident = (t: Tensor, what: string): Resident => ({ cur: device.upload(t.dtype, t.data, what), next: device.alloc(t.dtype, t.data.length, what) });
  const params = new Map<Parameter, Resident>();
  for (const p of [...sg.params, ...sg.assigned]) params.set(p, resident(p.value, `parameter ${p.name}`));
  const slots = new Map<Parameter, Resident[]>(sg.params.map((p) => [p, optimizer.slots.map((s) => resident(Tensor.zeros(p.shape, p.dtype), `${p.name}.${s}`))]));

  // Per-step host inputs (batch, lr, step counter): one buffer each per shape, rewritten every step.
  const uploads = new Map<string, GpuBuffer>();
  const upload = (v: Value, t: Tensor): GpuBuffer => {
    const key = `${v.id}:${t.shape.join("x")}`;
    let b = uploads.get(key);
    if (!b) { b = device.alloc(t.dtype, t.data.length, `input ${v.name}`); uploads.set(key, b); }
    device.write(b, t.data);
    return b;
  };
  const outputBuffers = new Map<string, GpuBuffer>();

  let steps = 0;
  const run = async (batch: Batch): Promise<number> => {
    const shapes: (readonly number[])[] = [];
    const ins = graph.inputs.map((v): GpuBuffer => {
      const role = sg.extra.get(v);
      if (role?.kind === "lr") { shapes.push([]); return upload(v, Tensor.fromArray([optimizer.lr], [], "f32")); }
      if (role?.kind === "slot") { shapes.push(role.param.shape); return slots.get(role.param)![role.index]!.cur; }
      const src = sg.trace.sources.get(v);
      if (!src) throw new LatheError(`graph input ${v.name} has no source`);
      switch (src.kind) {
        case "param": shapes.push(src.param.shape); return params.get(src.param)!.cur;
        case "step": shapes.push([]); return upload(v, Tensor.fromArray([steps], [], "i32"));
        case "data": {
          const t = batch[src.name];
          if (!t) throw new LatheError(`batch lacks the input "${src.name}" (${v.type.dtype}[${v.type.shape.join(", ")}])`);
          if (t.dtype !== v.type.dtype) throw new LatheError(`batch input "${src.name}": expected ${v.type.dtype}, got ${t.dtype}`);
          shapes.push(t.shape);
          return upload(v, t);
        }
      }
    });
    const outShapes = compiled.outputShapes(shapes);
    const lossKey = `loss:${outShapes[0]!.join("x")}`;
    let lossBuf = outputBuffers.get(lossKey);
    if (!lossBuf) { lossBuf = device.alloc(graph.outputs[0]!.type.dtype, shapeSize(outShapes[0]!), "loss"); outputBuffers.set(lossKey, lossBuf); }
    const outs: GpuBuffer[] = [lossBuf];
    for (const p of sg.params) outs.push(params.get(p)!.next);
    for (const p of sg.assigned) outs.push(params.get(p)!.next);
    for (const p of sg.params) outs.push(...slots.get(p)!.map((r) => r.next));
    if (process.env.LATHE_PROFILE === "1") {
      const times = await compiled.profile(ins, outs, shapes);
      process.stderr.write([...times].map(([k, ms]) => `${k}: ${ms.toFixed(2)} ms`).join("\n") + "\n");
    } else {
      compiled.runDevice(ins, outs, shapes);
    }
    const swap = (r: Resident) => { [r.cur, r.next] = [r.next, r.cur]; };
    params.forEach(swap);
    slots.forEach((rs) => rs.forEach(swap));
    steps++;
    const loss = await device.read(lossBuf);
    return Number(loss[0]);
  };
  const download = async (): Promise<void> => {
    await Promise.all([...params].map(async ([p, r]) => { p.value = new Tensor(await device.read(r.cur), p.shape, p.dtype); }));
  };
  const optimizerState = async (p: Parameter): Promise<Tensor[]> =>
    Promise.all((slots.get(p) ?? []).map(async (r) => new Tensor(await device.read(r.cur), p.shape, p.dtype)));
  return Object.defineProperties(run, {
    compiled: { value: compiled },
    parameters: { value: sg.params },
    steps: { get: () => steps },
    download: { value: download },
    optimizerState: { value: optimizerState },
  }) as GpuStepFunction;
}

/** A webgpu step for `loss(model(batch.x), batch.y)`, as train/step.ts's compileStep for cpu. */
export function compileStepWebGpu(
  model: Layer,
  loss: (out: Tracer, target: Tracer) => Tracer,
  optimizer: Optimizer,
  inputs: { readonly x: InputSpec; readonly y: InputSpec },
  opts: WebGpuGraphOptions = {},
): Promise<GpuStepFunction> {
  return compileLossStepWebGpu(({ x, y }) => loss(applyLayer(model, x!), y!), optimizer, inputs, opts);
}
