// The worker's bench runner: `lathe bench NAME` in a child process, killed past its time limit.
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { expect, test } from "vitest";
import { listBenches } from "../../bench/lib/discover.ts";
import { cacheDir } from "../../compiler/targets/cache.ts";
import { childBenchRunner } from "./worker.ts";

test("bench jobs run lathe bench in a child that a time limit kills; its scratch folder is removed", async () => {
  const runner = childBenchRunner(300);
  expect(runner.names()).toEqual(listBenches());
  const root = path.join(path.dirname(cacheDir()), "worker-bench");
  const before = existsSync(root) ? readdirSync(root).length : 0;
  await expect(runner.run("gemm", true)).rejects.toThrow(/^lathe bench gemm was killed \(SIGKILL, over 0\.3 s\?\)/);
  expect(readdirSync(root)).toHaveLength(before);
}, 30_000);
