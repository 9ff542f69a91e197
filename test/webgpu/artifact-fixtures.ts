/**
 * Small seeded models for the webgpu artifact tests (Node and browser): an MLP with a
 * symbolic batch and odd sizes, and a CNN (conv + bias + relu, max pool, flatten, dense),
 * as Lathe graph text with constants in .npy files (`--const`).
 */
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { TypedArray } from "../../core/dtype.ts";
import { writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";

export const hasGxx = spawnSync("g++", ["--version"], { stdio: "ignore" }).status === 0;

interface ModelDef { readonly text: string; readonly constants: Readonly<Record<string, readonly number[]>> }

export const MLP: ModelDef = {
  text: `graph mlp(x: f32[batch, 6]) {
  const w1: f32[6, 13]
  const b1: f32[13]
  const w2: f32[13, 5]
  h = matmul(x, w1)
  hb = add(h, b1)
  a = tanh(hb)
  y = matmul(a, w2)
  return y
}
`,
  constants: { w1: [6, 13], b1: [13], w2: [13, 5] },
};

export const CNN: ModelDef = {
  text: `graph cnn(x: f32[batch, 2, 8, 8]) {
  const w: f32[4, 2, 3, 3]
  const b: f32[1, 4, 1, 1]
  const wd: f32[64, 3]
  c = conv2d(x, w, pads=[1, 1, 1, 1])
  cb = add(c, b)
  r = relu(cb)
  p = max_pool2d(r, kernel=[2, 2], strides=[2, 2])
  f = reshape(p, shape=[0, -1])
  y = matmul(f, wd)
  return y
}
`,
  constants: { w: [4, 2, 3, 3], b: [1, 4, 1, 1], wd: [64, 3] },
};

export interface WrittenModel {
  readonly file: string;
  readonly text: string;
  readonly constArgs: string[];
  readonly constants: Record<string, TypedArray>;
}

/** Writes both models and their seeded constants under `dir`. */
export function writeModels(dir: string): { mlp: WrittenModel; cnn: WrittenModel } {
  const write = (name: string, def: ModelDef, seed: number): WrittenModel => {
    const file = path.join(dir, `${name}.lg`);
    writeFileSync(file, def.text);
    const constArgs: string[] = [], constants: Record<string, TypedArray> = {};
    Object.entries(def.constants).forEach(([c, shape], i) => {
      const t = Tensor.random([...shape], "f32", seed + i, { low: -0.5, high: 0.5 });
      const f = path.join(dir, `${name}-${c}.npy`);
      writeNpy(f, t);
      constArgs.push("--const", `${c}=${f}`);
      constants[c] = t.data;
    });
    return { file, text: def.text, constArgs, constants };
  };
  return { mlp: write("mlp", MLP, 11), cnn: write("cnn", CNN, 21) };
}
