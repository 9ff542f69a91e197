/** A vitest suite over ONNX backend node tests (shared by the converter families' test files). */
import { describe, expect, it } from "vitest";
import { haveNodeTests, nodeTestsMatching, runNodeTest } from "./node-test-runner.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

/**
 * Node tests a family's converters must pass, by prefix (every matching directory, minus
 * `unsupported`, which must be reported unsupported with a reason matching the pattern, and
 * minus names matching `exclude`).
 */
export function nodeSuite(title: string, prefixes: string[], unsupported: Readonly<Record<string, RegExp>>, exclude?: RegExp): void {
  describe.skipIf(!haveNodeTests)(skipReason(title, !haveNodeTests && NEEDS.onnxTestdata), () => {
    const names = haveNodeTests ? nodeTestsMatching(...prefixes).filter((n) => !exclude?.test(n)) : [];
    it.each(names.filter((n) => !(n in unsupported)))("%s", (name) => {
      const r = runNodeTest(name);
      expect(r.status === "pass" ? "pass" : `${r.status}: ${r.reason}`).toBe("pass");
    });
    const rejected = Object.entries(unsupported);
    if (rejected.length) {
      it.each(rejected)("%s is reported unsupported", (name, why) => {
        const r = runNodeTest(name);
        expect(r.status).toBe("unsupported");
        expect(r.status === "unsupported" && r.reason).toMatch(why);
      });
    }
  });
}

