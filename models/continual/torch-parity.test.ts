/**
 * The compiled step against PyTorch: an MLP 6-5-3 from the same initial weights, three
 * steps of SGD (lr 0.1, momentum 0.9) on the mean cross-entropy plus an EWC penalty
 * λ Σ F (θ − θ*)², a fresh optimizer, then one more step; weights compared to 1e-5.
 */
import { spawnSync } from "node:child_process";
import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { SGD } from "../../train/optim/sgd.ts";
import { ContinualMlp } from "./model.ts";
import { TrainStep } from "./program.ts";
import { quadraticPenalty } from "./terms.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const PY = "/usr/bin/python3";
const hasTorch = spawnSync(PY, ["-c", "import torch"]).status === 0;

const SCRIPT = `
import json, sys, torch
d = json.load(sys.stdin)
ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in d["w"]]
om = [torch.tensor(w, dtype=torch.float64) for w in d["omega"]]
an = [torch.tensor(w, dtype=torch.float64) for w in d["anchor"]]
def run(batches):
    opt = torch.optim.SGD(ws, lr=0.1, momentum=0.9)
    for x, y in batches:
        x = torch.tensor(x, dtype=torch.float64); y = torch.tensor(y)
        h = torch.relu(x @ ws[0] + ws[1]); z = h @ ws[2] + ws[3]
        loss = torch.nn.functional.cross_entropy(z, y) + d["lam"] * sum((o * (w - a) ** 2).sum() for w, o, a in zip(ws, om, an))
        opt.zero_grad(); loss.backward(); opt.step()
run(d["batches"][:3]); run(d["batches"][3:])
print(json.dumps([w.detach().reshape(-1).tolist() for w in ws]))
`;

describe("continual step vs PyTorch", () => {
  test.skipIf(!hasTorch)(skipReason("SGD with momentum on CE + EWC penalty, with a fresh optimizer after 3 steps, matches torch", !hasTorch && NEEDS.torch), async () => {
    const m = new ContinualMlp(6, [5], 3, 4);
    const rng = new Rng(9);
    const rand = (n: number, lo = -1, hi = 1) => Array.from({ length: n }, () => rng.uniform(lo, hi));
    const omega = m.params.map((p) => rand(p.value.size, 0, 1)), anchor = m.params.map((p) => rand(p.value.size));
    const batches = Array.from({ length: 4 }, () => ({ x: rand(8 * 6), y: Array.from({ length: 8 }, () => rng.int(0, 3)) }));
    const init = m.params.map((p) => Array.from(p.value.data as Float32Array));
    const step = await TrainStep.create(m, [quadraticPenalty(m, "ewc")], new SGD({ lr: 0.1, momentum: 0.9 }), { executor: "interpreted" });
    const pen: Record<string, Tensor> = { "ewc.lambda": Tensor.fromArray([0.3], [], "f32") };
    m.params.forEach((p, k) => {
      pen[`ewc.omega.${k}`] = Tensor.fromArray(omega[k]!, p.shape, "f32");
      pen[`ewc.anchor.${k}`] = Tensor.fromArray(anchor[k]!, p.shape, "f32");
    });
    batches.forEach((b, i) => {
      if (i === 3) step.resetOptimizer();
      step.run({ x: Tensor.fromArray(b.x, [8, 6], "f32"), y: Tensor.fromArray(b.y, [8], "i32"), w: Tensor.fromArray(new Array(8).fill(1 / 8), [8], "f32"), mask: Tensor.zeros([8, 3], "f32"), ...pen });
    });
    const shaped = (flat: number[], shape: readonly number[]) => (shape.length === 2 ? Array.from({ length: shape[0]! }, (_, r) => flat.slice(r * shape[1]!, (r + 1) * shape[1]!)) : flat);
    const input = {
      w: init.map((w, k) => shaped(w, m.params[k]!.shape)), omega: omega.map((w, k) => shaped(w, m.params[k]!.shape)), anchor: anchor.map((w, k) => shaped(w, m.params[k]!.shape)),
      lam: 0.3, batches: batches.map((b) => [shaped(b.x, [8, 6]), b.y]),
    };
    // Float32 inputs as torch sees them: round through f32 first.
    const f32 = (v: unknown): unknown => (Array.isArray(v) ? v.map(f32) : typeof v === "number" ? Math.fround(v) : v);
    const r = spawnSync(PY, ["-c", SCRIPT], { input: JSON.stringify({ ...input, w: f32(input.w), omega: f32(input.omega), anchor: f32(input.anchor), batches: input.batches.map(([x, y]) => [f32(x), y]) }), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as number[][];
    m.params.forEach((p, k) => Array.from(p.value.data as Float32Array).forEach((v, j) => expect(v).toBeCloseTo(want[k]![j]!, 5)));
  });
});
