/** A synthetic measurer for tuner tests: a known cost per config, no compiling. */
import type { Config } from "./log.ts";
import type { MeasureFn } from "./measure.ts";
import type { TuningTarget } from "./tuning-target.ts";
import { cpuTuning } from "../targets/cpu/task-template.ts";

/** Seconds per run of a config: a smooth bowl over the knob values (known optimum). */
export function syntheticCost(c: Config): number {
  let s = 1e-3;
  for (const [k, v] of Object.entries(c)) {
    const x = typeof v === "number" ? Math.log2(1 + v) : v.length;
    s *= 1 + 0.1 * (x - (k.charCodeAt(0) % 4)) ** 2;
  }
  return s;
}

/** Costs from syntheticCost; `target` gives the templates the tuner searches (default: the cpu target's). */
export function syntheticMeasurer(delayMs = 0, target: TuningTarget = cpuTuning): MeasureFn {
  return {
    target,
    async measure(_task, config) {
      if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
      const c = syntheticCost(config);
      return { costs: [c, c * 1.01, c * 0.99], error: null };
    },
    close() {},
  };
}
