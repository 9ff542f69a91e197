/**
 * examples/app depends on Lathe by path ("lathe": "file:../..") and imports only the public
 * entries. Installed as npm would install it (node_modules/lathe a link to this repository),
 * it must type-check under its own tsconfig and run to its end.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const APP = path.join(ROOT, "examples/app");
const TSX = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
const tmp = mkdtempSync(path.join(os.tmpdir(), "lathe-example-app-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of the example with what `npm install` gives it: lathe linked by path, typescript and @types/node. */
function install(): string {
  const dir = path.join(tmp, "app");
  cpSync(APP, dir, { recursive: true, filter: (f) => !f.includes("node_modules") });
  const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
  expect(pkg.dependencies["lathe"]).toBe("file:../..");
  mkdirSync(path.join(dir, "node_modules/@types"), { recursive: true });
  symlinkSync(ROOT, path.join(dir, "node_modules/lathe"), "dir");
  symlinkSync(path.join(ROOT, "node_modules/@types/node"), path.join(dir, "node_modules/@types/node"), "dir");
  return dir;
}

test("examples/app uses only lathe's public entries, type-checks and runs", () => {
  const dir = install();
  const sources = readFileSync(path.join(dir, "main.ts"), "utf8");
  const specifiers = [...sources.matchAll(/from "([^"]+)"/g)].map((m) => m[1]!);
  expect(specifiers.filter((s) => !s.startsWith("node:")).sort()).toEqual(["lathe", "lathe/runtime", "lathe/targets", "lathe/train"]);

  execFileSync(process.execPath, [path.join(ROOT, "node_modules/typescript/bin/tsc"), "--noEmit", "-p", dir], { encoding: "utf8" });
  const out = execFileSync(process.execPath, ["--import", TSX, path.join(dir, "main.ts")], { cwd: dir, encoding: "utf8" });
  expect(out).toMatch(/ok {2}compiled graph gives relu/);
  expect(out).toMatch(/ok {2}the artifact, loaded by lathe\/runtime/);
  expect(out).toMatch(/ok {2}training lowers the loss/);
  expect(out).toMatch(/ok {2}lt\.compile\(softmax\)/);
  expect(out).toMatch(/ok {2}targets registered: .*cpu/);
}, 240_000);
