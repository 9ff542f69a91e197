import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { LabelSet } from "./labels.ts";

const oneLine = (f: () => unknown): string => {
  try { f(); } catch (e) {
    expect(e).toBeInstanceOf(LatheError);
    const m = (e as Error).message;
    expect(m).not.toContain("\n");
    return m;
  }
  throw new Error("no error thrown");
};

describe("LabelSet", () => {
  test("dense indices in first-seen order, names kept, triples round-trip", () => {
    const t = [["img2", "bob", "dog"], ["img1", "ann", "cat"], ["img2", "ann", "cat"]] as const;
    const ls = LabelSet.fromTriples(t);
    expect(ls.items).toEqual(["img2", "img1"]);
    expect(ls.workers).toEqual(["bob", "ann"]);
    expect(ls.classes).toEqual(["dog", "cat"]);
    expect([...ls.item]).toEqual([0, 1, 0]);
    expect([...ls.worker]).toEqual([0, 1, 1]);
    expect([...ls.label]).toEqual([0, 1, 1]);
    expect([ls.numLabels, ls.numItems, ls.numWorkers, ls.numClasses]).toEqual([3, 2, 2, 2]);
    expect([...ls.triples()]).toEqual(t.map((x) => [...x]));
  });

  test("a given class list fixes the class indices; an unknown class is an error", () => {
    const ls = LabelSet.fromTriples([["a", "w", "dog"]], { classes: ["cat", "dog", "bird"] });
    expect([...ls.label]).toEqual([1]);
    expect(ls.numClasses).toBe(3);
    expect(oneLine(() => LabelSet.fromTriples([["a", "w", "cow"]], { classes: ["cat", "dog"] })))
      .toBe(`LabelSet.fromTriples: label 0 (item a, worker w) has class "cow", not one of [cat, dog]`);
  });

  test("a worker labelling an item twice is an error naming both labels", () => {
    expect(oneLine(() => LabelSet.fromTriples([["a", "w", "x"], ["b", "w", "x"], ["a", "w", "y"]])))
      .toBe("LabelSet.fromTriples: worker w labelled item a twice (labels 0 and 2)");
    expect(oneLine(() => LabelSet.fromIndices({ item: [0, 0], worker: [1, 1], label: [0, 1] }, { numItems: 1, numWorkers: 2, numClasses: 2 })))
      .toBe("LabelSet.fromIndices: worker 1 labelled item 0 twice (labels 0 and 1)");
  });

  test("indices out of range are errors", () => {
    const sizes = { numItems: 2, numWorkers: 2, numClasses: 3 };
    expect(oneLine(() => LabelSet.fromIndices({ item: [0, 1], worker: [0, 1], label: [2, 3] }, sizes)))
      .toBe("LabelSet.fromIndices: label 1 (item 1, worker 1) has label 3, outside [0, 3)");
    expect(oneLine(() => LabelSet.fromIndices({ item: [0], worker: [0], label: [-1] }, sizes))).toMatch(/label -1, outside \[0, 3\)/);
    expect(oneLine(() => LabelSet.fromIndices({ item: [0], worker: [0], label: [0.5] }, sizes))).toMatch(/label 0.5, outside/);
    expect(oneLine(() => LabelSet.fromIndices({ item: [2], worker: [0], label: [0] }, sizes))).toBe("LabelSet.fromIndices: label 0 has item 2, outside [0, 2)");
    expect(oneLine(() => LabelSet.fromIndices({ item: [0], worker: [5], label: [0] }, sizes))).toBe("LabelSet.fromIndices: label 0 has worker 5, outside [0, 2)");
    expect(oneLine(() => LabelSet.fromIndices({ item: [0], worker: [0, 1], label: [0] }, sizes))).toMatch(/one length/);
    expect(oneLine(() => LabelSet.fromIndices({ item: [], worker: [], label: [] }, { ...sizes, items: ["x"] }))).toMatch(/1 items names for 2 items/);
  });

  test("a later batch extends the name tables; concat joins batches", () => {
    const a = LabelSet.fromTriples([["i1", "ann", "cat"], ["i2", "bob", "dog"]]);
    const b = LabelSet.fromTriples([["i3", "cid", "cat"], ["i1", "bob", "cat"]], { extend: a });
    expect(b.items).toEqual(["i1", "i2", "i3"]);
    expect(b.workers).toEqual(["ann", "bob", "cid"]);
    expect([...b.item]).toEqual([2, 0]);
    const ab = a.concat(b);
    expect([...ab.item]).toEqual([0, 1, 2, 0]);
    expect([...ab.worker]).toEqual([0, 1, 2, 1]);
    expect(oneLine(() => b.concat(a))).toMatch(/do not extend/);
    expect(oneLine(() => a.concat(LabelSet.fromTriples([["i1", "ann", "dog"]], { extend: a })))).toMatch(/worker ann labelled item i1 twice/);
    expect(oneLine(() => LabelSet.fromTriples([], { extend: a, classes: ["dog", "cat"] }))).toMatch(/classes \[dog, cat\] differ/);
    const s = ab.subset([3, 0]);
    expect([...s.triples()]).toEqual([["i1", "bob", "cat"], ["i1", "ann", "cat"]]);
  });
});
