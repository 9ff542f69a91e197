/**
 * One case of the schedule property: a workload, a seeded random schedule, the built
 * kernel's output on seeded random inputs, and its comparison with the reference
 * evaluator. Shared by schedule.property.test.ts and the fuzz-schedules.ts script.
 */
import { build, lower } from "../../compiler/driver/kernel.ts";
import { evaluate } from "../../compiler/te/evaluate.ts";
import type { Tensor } from "../../compiler/te/tensor.ts";
import type { Schedule } from "../../compiler/schedule/schedule.ts";
import { printFunc } from "../../compiler/tir/print.ts";
import { Rng } from "../../runtime/random.ts";
import type { RandomSchedule, Workload } from "./random-schedule.ts";
import { conv2d, describeSchedule, matmul, randomSchedule } from "./random-schedule.ts";

export type WorkloadKind = "mm-24x40x17" | "mm-16x16x16" | "conv-s1" | "conv-s2";
export const WORKLOAD_KINDS: readonly WorkloadKind[] = ["mm-24x40x17", "mm-16x16x16", "conv-s1", "conv-s2"];

export function makeWorkload(kind: WorkloadKind): Workload {
  switch (kind) {
    case "mm-24x40x17": return matmul(24, 40, 17);
    case "mm-16x16x16": return matmul(16, 16, 16);
    case "conv-s1": return conv2d({ N: 1, C: 3, H: 9, W: 9, K: 4, R: 3, S: 3, stride: 1, pad: 1 });
    case "conv-s2": return conv2d({ N: 1, C: 3, H: 9, W: 9, K: 4, R: 3, S: 3, stride: 2, pad: 1 });
  }
}

export interface Case {
  readonly kind: WorkloadKind;
  readonly seed: number;
  readonly w: Workload;
  readonly gen: RandomSchedule;
}

/** The workload and its random schedule (cheap: nothing is compiled). */
export function makeCase(kind: WorkloadKind, seed: number): Case {
  const w = makeWorkload(kind);
  return { kind, seed, w, gen: randomSchedule(new Rng(seed), w) };
}

export interface Outcome {
  readonly ok: boolean;
  /** max |got - ref| / (1 + |ref|); Infinity when it did not build or run */
  readonly maxErr: number;
  /** Seed, primitive sequence, schedule and (when it lowers) the loop IR, for a failure message. */
  readonly report: string;
  /** What build or run threw, if it did. */
  readonly error?: unknown;
}

const TOL = 1e-4;

/** Builds the case's kernel, runs it on seeded inputs and compares with `evaluate`. */
export async function runCase(c: Case): Promise<Outcome> {
  const header = [
    `${c.w.label}, seed ${c.seed} (makeCase("${c.kind}", ${c.seed}))`,
    "primitives:",
    ...c.gen.steps.map((x) => `  ${x}`),
  ].join("\n");
  if (c.gen.crash) {
    return { ok: false, maxErr: Infinity, report: `${header}\na primitive crashed: ${errText(c.gen.crash.error)}` };
  }
  return checkSchedule(c.w, c.gen.s, c.seed, header);
}

/**
 * Builds schedule `s` of workload `w`, runs it on inputs from seed `seed` and compares
 * with `evaluate`. `header` starts the report.
 */
export async function checkSchedule(w: Workload, s: Schedule, seed: number, header: string): Promise<Outcome> {
  const head = `${header}\nschedule:\n${describeSchedule(s)}`;
  const fail = (why: string): Outcome => ({ ok: false, maxErr: Infinity, report: `${head}\n${why}${irOf(w, s)}` });
  const rng = new Rng(seed ^ 0x5eed);
  const inputs = new Map<Tensor, Float32Array>();
  for (const t of w.inputs) inputs.set(t, Float32Array.from({ length: sizeOf(t) }, () => rng.uniform(-1, 1)));
  const ref = evaluate([w.output], inputs).get(w.output)!;

  const got = new Float32Array(sizeOf(w.output)).fill(Number.NaN);
  try {
    const kernel = await build(s, w.args, { name: `prop_${seed}` });
    kernel.run(...w.inputs.map((t) => inputs.get(t)!), got);
  } catch (e) {
    return { ...fail(`build or run failed: ${errText(e)}`), error: e };
  }
  let maxErr = 0, worst = -1;
  for (let k = 0; k < ref.length; k++) {
    const err = Math.abs(got[k]! - ref[k]!) / (1 + Math.abs(ref[k]!));
    if (!(err <= maxErr)) { maxErr = Number.isNaN(err) ? Infinity : err; worst = k; }
  }
  if (maxErr <= TOL) return { ok: true, maxErr, report: head };
  return { ...fail(`wrong result: max relative error ${maxErr} at flat index ${worst} (got ${got[worst]}, want ${ref[worst]})`), maxErr };
}

function irOf(w: Workload, s: Schedule): string {
  try {
    return `\nloop IR:\n${printFunc(lower(s, w.args, { name: "kernel" }))}`;
  } catch (e) {
    return `\n(lowering failed: ${errText(e)})`;
  }
}

const errText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

function sizeOf(t: Tensor): number {
  return t.shape.reduce((a, d) => {
    if (d.kind !== "const") throw new Error(`${t.name} has a symbolic shape`);
    return a * d.value;
  }, 1);
}
