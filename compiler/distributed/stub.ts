/**
 * The cost a measure-stub job returns (protocol.ts): deterministic in the task and config, a
 * smooth bowl over the knob values as autotune/testing.ts's syntheticCost is, so the tuner's
 * cost model has something to learn while only the queue is being measured.
 */
import { createHash } from "node:crypto";
import type { Config } from "../autotune/log.ts";

/** Seconds per run of `config` of `task`. */
export function stubCost(task: string, config: Config): number {
  const scale = 1 + createHash("sha256").update(task).digest().readUInt16BE(0) / 65536;
  let s = 1e-3 * scale;
  for (const [k, v] of Object.entries(config)) {
    const x = typeof v === "number" ? Math.log2(1 + Math.abs(v)) : v.length;
    s *= 1 + 0.1 * (x - (k.charCodeAt(0) % 4)) ** 2;
  }
  return s;
}

/** The samples a stub measurement reports (three, around stubCost). */
export const stubCosts = (task: string, config: Config): number[] => {
  const c = stubCost(task, config);
  return [c, c * 1.01, c * 0.99];
};
