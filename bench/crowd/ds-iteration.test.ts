/**
 * The NumPy baseline of `lathe bench crowd` (ds_iteration.py) computes the same Dawid–Skene
 * iteration as Lathe's compiled graphs: posteriors, new log-confusions and log-prior equal
 * to 1e-9 on a tiny crowd (an item without labels and a worker without labels included).
 * Correctness only; no timing.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { LabelSet } from "../../models/crowd/index.ts";
import { f64Data, maxAbsDiff } from "../../models/crowd/graphs.ts";
import { checksum, close, crowd, latheIteration, numpyMissing, prepared, runNumpy, startModel, writeInput } from "./ds.ts";
import { NEEDS, skipReason } from "../../test/helpers/skip.ts";

const missing = numpyMissing();
const dir = mkdtempSync(join(tmpdir(), "lathe-crowd-ds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function compare(ls: LabelSet): Promise<void> {
  const t = prepared(ls);
  const model = await startModel(t);
  const lathe = await latheIteration(t, model);
  const input = join(dir, "in.bin"), out = join(dir, "out.bin");
  writeInput(input, ls, model);
  const np = runNumpy(input, 0, 0, out);
  expect(np).not.toBeNull();
  const got = new Float64Array(new Uint8Array(readFileSync(out)).buffer);
  const I = ls.numItems, W = ls.numWorkers, K = ls.numClasses;
  expect(got.length).toBe(I * K + W * K * K + K);
  const post = f64Data(lathe.post), logConf = f64Data(lathe.logConf), logPrior = f64Data(lathe.logPrior);
  expect(maxAbsDiff(got.subarray(0, I * K), post)).toBeLessThanOrEqual(1e-9);
  expect(maxAbsDiff(got.subarray(I * K, I * K + W * K * K), logConf)).toBeLessThanOrEqual(1e-9);
  expect(maxAbsDiff(got.subarray(I * K + W * K * K), logPrior)).toBeLessThanOrEqual(1e-9);
  expect(close(np!.checksum_post, checksum(post), 1e-9)).toBe(true);
  expect(close(np!.checksum_log_conf, checksum(logConf), 1e-9)).toBe(true);
  expect(close(np!.checksum_log_prior, checksum(logPrior), 1e-9)).toBe(true);
}

describe.skipIf(missing !== null)(skipReason("ds_iteration.py against Lathe's DS iteration", missing !== null && NEEDS.numpy), () => {
  it("agrees on a simulated crowd (50 items × 8 workers × 3 labels, K = 4)", async () => {
    await compare(crowd(50, 8, 3, 4, 11));
  });

  it("agrees with an unlabelled item, an idle worker and unsorted triples", async () => {
    // Item 2 and worker 3 have no labels; the triples are not in item order.
    const ls = LabelSet.fromIndices(
      { item: Int32Array.from([3, 0, 1, 0, 3, 1, 4]), worker: Int32Array.from([0, 1, 2, 0, 2, 1, 0]), label: Int32Array.from([2, 0, 1, 1, 2, 0, 2]) },
      { numItems: 5, numWorkers: 4, numClasses: 3 },
    );
    await compare(ls);
  });
});
