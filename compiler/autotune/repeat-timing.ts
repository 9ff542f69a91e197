/**
 * The measuring children's timing loop (targets/cpu and targets/webgpu measure-worker.ts):
 * `repeats` samples, each `calls` runs back to back, recorded as the mean; a sample shorter
 * than its share of minRepeatMs is discarded and run again with more calls (TVM's
 * min_repeat_ms). The call count carries over to the next sample, so it is calibrated once
 * in the usual case.
 */

/**
 * Calls for the next try of a sample that lasted `seconds` over `calls` calls, short of its
 * `share`: at least 1.618 × as many (TVM's geometric growth), or straight to the estimate
 * for the share with a 10% margin, so that the next try usually suffices.
 */
export function moreCalls(calls: number, seconds: number, share: number, maxCalls: number): number {
  const estimate = seconds > 0 ? Math.ceil((1.1 * calls * share) / seconds) : maxCalls;
  return Math.min(maxCalls, Math.max(Math.ceil(1.618 * calls), estimate));
}

/** `timeCalls(n)` runs n calls and returns the seconds they took; costs are seconds per call. */
export async function timeSamples(
  o: { readonly repeats: number; readonly minRepeatMs: number; readonly maxCalls: number },
  timeCalls: (calls: number) => number | Promise<number>,
): Promise<{ costs: number[]; calls: number[] }> {
  const share = o.minRepeatMs / o.repeats / 1000;
  const costs: number[] = [], calls: number[] = [];
  let number = 1;
  for (let i = 0; i < o.repeats; i++) {
    for (;;) {
      const seconds = await timeCalls(number);
      if (seconds >= share || number >= o.maxCalls) {
        costs.push(seconds / number);
        calls.push(number);
        break;
      }
      number = moreCalls(number, seconds, share, o.maxCalls);
    }
  }
  return { costs, calls };
}
