import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { BEGIN, END, README, generate, updateReadme, withBlock } from "./readme.ts";

const dir = mkdtempSync(join(tmpdir(), "lathe-readme-bench-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("the README's bench tables are what bench/lib/readme.ts makes of bench/results (run it after a bench)", () => {
  const readme = readFileSync(README, "utf8");
  expect(withBlock(readme, generate())).toBe(readme);
});

test("a table holds the file's figures, spreads and host; quick runs and unknown benches are left out", () => {
  const row = { case: "N=1024", threads: 1, metric: "GFLOP/s", better: "higher", lathe: 12.34, lathe_min: 11.1, lathe_max: 13.9, baseline: "openblas", baseline_value: 10, ratio: 1.234 };
  const host = { cpu: "Test CPU", family: 25, model: 1, isa: ["avx2"], cores: 2, peak_gflops_per_core: 88.77, commit: "abc1234", dirty: false };
  writeFileSync(join(dir, "gemm.json"), JSON.stringify({ name: "gemm", date: "2026-12-07T00:00:00Z", host, notes: ["bar (x ≥ 1): met", "load 1.0"], rows: [row] }));
  writeFileSync(join(dir, "train.quick.json"), JSON.stringify({ name: "train", date: "2026-12-07T00:00:00Z", host, notes: [], rows: [row] }));
  writeFileSync(join(dir, "mystery.json"), JSON.stringify({ name: "mystery", date: "2026-12-07T00:00:00Z", host, notes: [], rows: [row] }));
  const block = generate(dir);
  expect(block.startsWith(BEGIN) && block.endsWith(END)).toBe(true);
  expect(block).toContain("#### `lathe bench gemm` — Test CPU (family 25 model 1), avx2, 2 cores, peak 88.8 GFLOP/s per core, commit abc1234, 2026-12-07");
  expect(block).toContain("| N=1024 | 1 | GFLOP/s (higher is better) | 12.3 (11.1–13.9) | openblas | 10 | 1.23× |");
  expect(block).toContain("- bar (x ≥ 1): met");
  expect(block).not.toContain("load 1.0");
  expect(block).not.toContain("train");
  expect(block).not.toContain("mystery");
  expect(() => withBlock("no markers here", block)).toThrow(/markers/);
});

test("updateReadme rewrites only the marked block, and leaves a README without markers alone", () => {
  const marked = join(dir, "README.md"), plain = join(dir, "PLAIN.md");
  writeFileSync(marked, `# Title\n\nprose before\n\n${BEGIN}\nstale figure 9.99\n${END}\n\nprose after\n`);
  writeFileSync(plain, "# No markers\n");
  expect(updateReadme(marked, dir)).toBe(true);
  const text = readFileSync(marked, "utf8");
  expect(text).toContain("prose before");
  expect(text).toContain("prose after");
  expect(text).not.toContain("stale figure 9.99");
  expect(text).toContain(generate(dir));
  expect(updateReadme(marked, dir)).toBe(false); // already up to date
  expect(updateReadme(plain, dir)).toBe(false);
  expect(readFileSync(plain, "utf8")).toBe("# No markers\n");
});
