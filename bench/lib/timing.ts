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

export interface SidesOptions {
  /** Timed samples per side, half in each round (at least one per round). */
  readonly repeats: number;
  /** Calls per sample (the sample is their mean), for calls too short to time one by one. */
  readonly inner?: number;
  /** Pause after each side's block, ms (default 100). */
  readonly pauseMs?: number;
  /** Before each side's block, untimed (e.g. setting its thread count). */
  readonly prepare?: (side: number) => void;
}

/**
 * Seconds per call of each side, timed in blocks: every side runs one untimed call, then its
 * samples, with a pause after each block; the sides go in one order, then in reverse, so a
 * drift in a shared machine's load does not favour whichever side runs first, and one
 * runtime's idle spinning threads do not take the core the next needs (as alternating call
 * by call would). A side's figure is the median of its samples; calls may return promises.
 */
export async function timeSides(sides: readonly (() => unknown)[], opts: SidesOptions): Promise<number[]> {
  const { repeats, inner = 1, pauseMs = 100, prepare } = opts;
  const samples = sides.map(() => [] as number[]);
  const half = Math.max(1, Math.ceil(repeats / 2));
  const order = sides.map((_, i) => i);
  for (const round of [order, [...order].reverse()]) {
    for (const i of round) {
      prepare?.(i);
      const f = sides[i]!;
      await f();
      for (let r = 0; r < half; r++) {
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < inner; k++) await f();
        samples[i]!.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
      }
      await new Promise((res) => setTimeout(res, pauseMs));
    }
  }
  return samples.map(median);
}
