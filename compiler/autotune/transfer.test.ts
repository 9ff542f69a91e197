import { describe, expect, test } from "vitest";
import { Rng } from "../../runtime/random.ts";
import { GraphBuilder } from "../graph/builder.ts";
import { makeRecord, type Config, type TuneRecord } from "./log.ts";
import { extractTasks, taskSpec } from "./task.ts";
import { taskTemplate } from "../targets/cpu/task-template.ts";
import { TransferModel } from "./transfer.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";

function dense(m: number, k: number, n: number, bias: boolean) {
  const b = new GraphBuilder();
  let y = b.op1("matmul", [b.input("x", [m, k]), b.input("w", [k, n])]);
  if (bias) y = b.op1("add", [y, b.input("b", [n])]);
  return taskSpec(extractTasks(b.build([y]))[0]!);
}

/**
 * A known speed for the GEMM template: best with a register block of about 64 outputs and
 * 2-fold reduction unrolling. It is a property of the loop nest, which the curve features
 * see, and means the same for any GEMM shape — what transfer needs.
 */
const speed = (c: Config): number =>
  Math.exp(-0.5 * (Math.log2((c["mr"] as number) * (c["nr"] as number)) - 6) ** 2 - 0.3 * (Math.log2(c["ku"] as number) - 1) ** 2);
const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

describe("TransferModel (curve features)", () => {
  test("trained on one GEMM task's log, its first picks for another GEMM task beat random picks", async () => {
    const old = dense(32, 32, 64, false);
    const fresh = dense(48, 64, 128, true);
    expect(fresh.key).not.toBe(old.key);
    const oldSpace = taskTemplate(old)!.space, newSpace = taskTemplate(fresh)!.space;
    // The old log: 60 seeded random configs, the first record carrying the task spec (as tuneTask writes it).
    const rng = new Rng(11);
    const picked = new Set<number>();
    while (picked.size < 60) picked.add(rng.int(0, oldSpace.size));
    const records: TuneRecord[] = [...picked].map((i, k) => {
      const c = oldSpace.get(i);
      const r = makeRecord(old.key, c, [1e-3 / speed(c)]);
      return k === 0 ? { ...r, spec: old } : r;
    });
    records.push(makeRecord(old.key, oldSpace.get(0), null, "crashed")); // failures are not training data
    const tm = await TransferModel.train(records, { target: cpuTuning, seed: 1, sample: 48 });
    expect(tm).not.toBeNull();
    expect(tm!.records).toBe(60);
    const picks = tm!.pick(fresh, newSpace, 8, new Rng(5));
    expect(picks).toHaveLength(8);
    expect(tm!.pick(fresh, newSpace, 8, new Rng(5))).toEqual(picks); // deterministic
    // Random picks: the same sampler's first 8 configs.
    const r2 = new Rng(5);
    const randomIdx = new Set<number>();
    while (randomIdx.size < 48) randomIdx.add(r2.int(0, newSpace.size));
    const sample = [...randomIdx].map((i) => newSpace.get(i));
    const pickMean = mean(picks.map(speed));
    expect(pickMean).toBeGreaterThan(mean(sample.slice(0, 8).map(speed)));
    expect(pickMean).toBeGreaterThan(mean(sample.map(speed)) * 1.3);
    tm!.dispose();
  }, 120_000);

  test("no usable records (no spec, or one speed only) gives no model", async () => {
    const t = dense(16, 16, 16, false);
    const s = taskTemplate(t)!.space;
    expect(await TransferModel.train([makeRecord(t.key, s.get(0), [1]), makeRecord(t.key, s.get(1), [2])], { target: cpuTuning })).toBeNull();
    expect(await TransferModel.train([{ ...makeRecord(t.key, s.get(0), [1]), spec: t }], { target: cpuTuning })).toBeNull();
  });
});
