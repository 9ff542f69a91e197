import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import { OnlineDawidSkene } from "./online.ts";
import type { OnlineDawidSkeneState } from "./online.ts";
import { simulateCrowd } from "./simulate.ts";
import { CROWD_STATE_VERSION, loadCrowdState, saveCrowdState, STATE_MANIFEST } from "./state.ts";

const T = 120_000;
let root: string;
beforeAll(() => { root = mkdtempSync(join(tmpdir(), "lathe-crowd-state-")); });
afterAll(() => rmSync(root, { recursive: true, force: true }));

const crowd = simulateCrowd({ numItems: 90, numClasses: 3, workers: { good: 3, spammer: 2, biased: 1 }, labelsPerItem: 3, batches: 3, seed: 5 });

/** Every field of two states, typed arrays compared element by element (exactly). */
function expectSameState(a: OnlineDawidSkeneState, b: OnlineDawidSkeneState): void {
  const plain = (s: OnlineDawidSkeneState) => Object.fromEntries(Object.entries(s).map(([k, v]) => [k, ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v]));
  expect(plain(a)).toEqual(plain(b));
}

describe("crowd state directory", () => {
  test("save → load gives the state back exactly, versioned; a model restored from it continues as the original", async () => {
    const dir = join(root, "roundtrip");
    const a = new OnlineDawidSkene({ maxIter: 20 });
    await a.partialFit(crowd.batches[0]!);
    await a.partialFit(crowd.batches[1]!);
    const m = saveCrowdState(dir, a.toState());
    expect(m).toMatchObject({ format: "lathe-crowd-state", formatVersion: CROWD_STATE_VERSION, generation: 1, method: "online-ds", batches: 2, numItems: 60, numLabels: 180 });
    const loaded = loadCrowdState(dir)!;
    expectSameState(loaded.state, a.toState());

    const b = OnlineDawidSkene.fromState(loaded.state);
    const [ra, rb] = [await a.partialFit(crowd.batches[2]!), await b.partialFit(crowd.batches[2]!)];
    expect(rb).toEqual(ra);
    expect(Array.from(b.posteriors())).toEqual(Array.from(a.posteriors()));
    expect(Array.from(b.model()!.confusion)).toEqual(Array.from(a.model()!.confusion));

    // The next save is generation 2, and the first generation's files are gone.
    saveCrowdState(dir, b.toState());
    expect(readdirSync(dir).sort()).toEqual(["arrays-2.bin", "names-2.json", STATE_MANIFEST]);
    expect(loadCrowdState(dir)!.manifest.generation).toBe(2);
    expect(loadCrowdState(join(root, "nothing-here"))).toBeNull();
  }, T);

  test("a save that stops before the manifest's rename leaves the previous state loadable", async () => {
    const dir = join(root, "crash");
    const a = new OnlineDawidSkene({ maxIter: 20 });
    await a.partialFit(crowd.batches[0]!);
    const before = a.toState();
    saveCrowdState(dir, before);
    await a.partialFit(crowd.batches[1]!);
    // A writer that dies when the manifest's turn comes (its data files are already written).
    const written: string[] = [];
    const crash = (file: string, data: Uint8Array) => {
      if (file.endsWith(STATE_MANIFEST)) throw new Error("simulated crash");
      writeFileAtomic(file, data);
      written.push(file);
    };
    expect(() => saveCrowdState(dir, a.toState(), crash)).toThrow("simulated crash");
    expect(written.map((f) => f.slice(dir.length + 1))).toEqual(["names-2.json", "arrays-2.bin"]);
    const loaded = loadCrowdState(dir)!;
    expect(loaded.manifest.generation).toBe(1);
    expectSameState(loaded.state, before);
    // The next good save replaces it and clears the orphans.
    saveCrowdState(dir, a.toState());
    expect(loadCrowdState(dir)!.manifest.generation).toBe(2);
    expectSameState(loadCrowdState(dir)!.state, a.toState());
    expect(readdirSync(dir).sort()).toEqual(["arrays-2.bin", "names-2.json", STATE_MANIFEST]);
  }, T);

  test("a version mismatch or a damaged file is an error naming the file", async () => {
    const dir = join(root, "damaged");
    const a = new OnlineDawidSkene();
    await a.partialFit(crowd.batches[0]!);
    saveCrowdState(dir, a.toState());
    const manifest = join(dir, STATE_MANIFEST);
    const text = readFileSync(manifest, "utf8");
    writeFileSync(manifest, text.replace(`"formatVersion": ${CROWD_STATE_VERSION}`, `"formatVersion": 99`));
    expect(() => loadCrowdState(dir)).toThrow(`${manifest}: crowd state format version 99; this Lathe reads version ${CROWD_STATE_VERSION}`);
    writeFileSync(manifest, text);
    const arrays = join(dir, "arrays-1.bin");
    const bin = readFileSync(arrays);
    bin[10] = bin[10]! ^ 1;
    writeFileSync(arrays, bin);
    expect(() => loadCrowdState(dir)).toThrow(`${arrays}: the state's arrays does not match the sha256`);
    writeFileSync(arrays, bin.subarray(0, 8));
    expect(() => loadCrowdState(dir)).toThrow(`${arrays}: the state's arrays has 8 bytes`);
    rmSync(arrays);
    expect(() => loadCrowdState(dir)).toThrow(arrays);
    writeFileSync(manifest, "{ not json");
    expect(() => loadCrowdState(dir)).toThrow(`${manifest}: not a crowd state manifest`);
    expect(existsSync(join(dir, "names-1.json"))).toBe(true);
  }, T);
});
