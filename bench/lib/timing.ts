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
  /** Timed samples per side in all, spread over the blocks (at least one per block). */
  readonly repeats: number;
  /** Blocks per side, alternating forward and reverse order (default 6; at least 5). */
  readonly blocks?: number;
  /** Calls per sample (the sample is their mean), for calls too short to time one by one. */
  readonly inner?: number;
  /** Pause after each side's block, ms (default 100). */
  readonly pauseMs?: number;
  /** Before each side's block, untimed (e.g. setting its thread count). */
  readonly prepare?: (side: number) => void;
}

/** One side's seconds per call: the median over its blocks, and the fastest and slowest block. */
export interface SideTiming {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Each block's median, in the order the blocks ran. */
  readonly blocks: readonly number[];
}

/**
 * Seconds per call of each side, timed in blocks: every side runs one untimed call, then its
 * samples, with a pause after each block; the sides go in one order, then in reverse, and so
 * on for `blocks` rounds, so a drift in a shared machine's load does not favour whichever
 * side runs first, and one runtime's idle spinning threads do not take the core the next
 * needs (as alternating call by call would). A block's figure is the median of its samples;
 * a side's figure is the median of its blocks, with the fastest and slowest block as its
 * spread. Calls may return promises.
 */
export async function timeSidesSpread(sides: readonly (() => unknown)[], opts: SidesOptions): Promise<SideTiming[]> {
  const { repeats, blocks = 6, inner = 1, pauseMs = 100, prepare } = opts;
  if (!Number.isInteger(blocks) || blocks < 5) throw new RangeError(`blocks must be an integer >= 5 (the spread needs them), got ${blocks}`);
  const perBlock = Math.max(1, Math.ceil(repeats / blocks));
  const figures = sides.map(() => [] as number[]);
  const order = sides.map((_, i) => i);
  for (let b = 0; b < blocks; b++) {
    for (const i of b % 2 === 0 ? order : [...order].reverse()) {
      prepare?.(i);
      const f = sides[i]!;
      await f();
      const samples: number[] = [];
      for (let r = 0; r < perBlock; r++) {
        const t0 = process.hrtime.bigint();
        for (let k = 0; k < inner; k++) await f();
        samples.push(Number(process.hrtime.bigint() - t0) / 1e9 / inner);
      }
      figures[i]!.push(median(samples));
      await new Promise((res) => setTimeout(res, pauseMs));
    }
  }
  return figures.map((bs) => ({ median: median(bs), min: Math.min(...bs), max: Math.max(...bs), blocks: bs }));
}
