/**
 * The layers of docs/architecture.md, enforced: dependency-cruiser checks every import
 * against .dependency-cruiser.cjs, and a violation fails here with the import named.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const require = createRequire(import.meta.url);
const DEPCRUISE = path.join(ROOT, "node_modules/.bin/depcruise");
const CONFIG = path.join(ROOT, ".dependency-cruiser.cjs");
const SOURCES = ["core", "runtime", "compiler", "train", "models", "cli", "bench", "examples", "scripts", "index.ts", "plugin-api.ts"];

const cruise = (cwd: string, paths: readonly string[]) =>
  spawnSync(DEPCRUISE, [...paths, "--config", CONFIG, "--output-type", "err", "--no-progress"], { cwd, encoding: "utf8" });

const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-layering-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("layering", () => {
  test("every import follows the layers (.dependency-cruiser.cjs)", () => {
    const r = cruise(ROOT, SOURCES);
    // On failure the message lists each offending import as "rule: from → to".
    expect(r.stdout + r.stderr, "dependency-cruiser found layering violations").toContain("no dependency violations found");
    expect(r.status).toBe(0);
  }, 120_000);

  test("the rules catch an import that goes up a layer, a runtime that imports the compiler, and a cycle", () => {
    const file = (f: string, text: string) => { mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true }); writeFileSync(path.join(tmp, f), text); };
    file("tsconfig.json", JSON.stringify({ compilerOptions: { module: "NodeNext", moduleResolution: "NodeNext", allowImportingTsExtensions: true, noEmit: true } }));
    file("compiler/te/expr.ts", 'export const e = 1;\n');
    file("core/dtype.ts", 'import { e } from "../compiler/te/expr.ts";\nexport const d = e;\n');
    file("runtime/module.ts", 'import { g } from "../compiler/graph/graph.ts";\nexport const m = g;\n');
    file("compiler/graph/graph.ts", 'import { b } from "./builder.ts";\nexport const g = 1;\nexport const gb = b;\n');
    file("compiler/graph/builder.ts", 'import { g } from "./graph.ts";\nexport const b = g;\n');
    file("compiler/ops/op.ts", 'import { g } from "../graph/graph.ts";\nimport { b } from "../graph/builder.ts";\nexport const o = g + b;\n');
    const r = cruise(tmp, ["core", "runtime", "compiler"]);
    const out = r.stdout + r.stderr;
    expect(r.status).not.toBe(0);
    expect(out).toMatch(/layer-core: core\/dtype\.ts → compiler\/te\/expr\.ts/);
    expect(out).toMatch(/runtime-needs-no-compiler: runtime\/module\.ts → compiler\/graph\/graph\.ts/);
    expect(out).toMatch(/layer-ops: compiler\/ops\/op\.ts → compiler\/graph\/builder\.ts/);
    expect(out).not.toMatch(/layer-ops: compiler\/ops\/op\.ts → compiler\/graph\/graph\.ts/); // the graph's types are allowed
    expect(out).toMatch(/no-cycles: compiler\/graph\/(graph|builder)\.ts/);
  }, 120_000);

  test("docs/architecture.md lists exactly the rules the rules file enforces", () => {
    const rules = (require(CONFIG) as { forbidden: { name: string }[] }).forbidden.map((r) => r.name).sort();
    const doc = readFileSync(path.join(ROOT, "docs/architecture.md"), "utf8");
    const section = doc.slice(doc.indexOf("<!-- layering rules -->"), doc.indexOf("<!-- /layering rules -->"));
    const listed = [...section.matchAll(/^\| `([a-z-]+)` \|/gm)].map((m) => m[1]!).sort();
    expect(listed).toEqual(rules);
  });
});
