/** Timing helpers for benchmarks: medians of repeated runs after a warm-up. */

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new RangeError("median of an empty list");
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface TimeOptions {
  /** Untimed runs first (caches, page faults, JIT). */
  readonly warmup?: number;
  readonly repeats?: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly samplesMs: readonly number[];
}

/** Times `fn` `repeats` times (awaiting it if it returns a promise) and returns the median in ms. */
export async function timeIt(fn: () => unknown, { warmup = 1, repeats = 5 }: TimeOptions = {}): Promise<Timing> {
  if (!Number.isInteger(repeats) || repeats < 1) throw new RangeError(`repeats must be a positive integer, got ${repeats}`);
  for (let i = 0; i < warmup; i++) await fn();
  const samplesMs: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = process.hrtime.bigint();
    const r = fn();
    if (r instanceof Promise) await r;
    samplesMs.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return { medianMs: median(samplesMs), samplesMs };
}
