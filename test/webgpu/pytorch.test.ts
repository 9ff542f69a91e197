/**
 * PyTorch models exported to ONNX (fixtures/export-torch-models.py: an MLP with odd sizes
 * and GELU/softmax, a small CNN with batch norm, a one-layer transformer encoder) compile
 * with `lathe compile --target webgpu`, run with `lathe run`, and match PyTorch's outputs:
 * |a − b| ≤ 1e-5 + 1e-3·|b| (numpy.allclose with rtol 1e-3, atol 1e-5).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { readNpy } from "../../runtime/npy.ts";
import { lathe } from "../helpers/cli.ts";
import { NEEDS, skipReason } from "../helpers/skip.ts";

const PY = "/usr/bin/python3";
const hasTorch = existsSync(PY) && (() => {
  try { execFileSync(PY, ["-c", "import torch, onnx, numpy"], { stdio: "ignore" }); return true; } catch { return false; }
})();
const SCRIPT = new URL("./fixtures/export-torch-models.py", import.meta.url).pathname;
afterEach(() => { process.exitCode = 0; });

describe.skipIf(!hasTorch)(skipReason("PyTorch models through webgpu artifacts", !hasTorch && NEEDS.torchOnnx), () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-wg-torch-"));
  const exported = () => { if (!existsSync(path.join(dir, "encoder.onnx"))) execFileSync(PY, [SCRIPT, dir], { stdio: "ignore" }); };

  test.each(["mlp", "cnn", "encoder"])("%s: lathe run on the webgpu artifact matches PyTorch (rtol 1e-3)", async (name) => {
    exported();
    const out = path.join(dir, `${name}-webgpu`), got = path.join(dir, `${name}.got.npy`);
    expect((await lathe("compile", path.join(dir, `${name}.onnx`), "--target", "webgpu", "-o", out)).code).toBe(0);
    const r = await lathe("run", out, "--input", path.join(dir, `${name}.x.npy`), "--output", got);
    expect(r.code).toBe(0);
    const y = readNpy(got), want = readNpy(path.join(dir, `${name}.y.npy`));
    expect(y.shape).toEqual(want.shape);
    const a = y.toArray(), b = want.toArray();
    b.forEach((w, i) => expect(Math.abs(a[i]! - w)).toBeLessThanOrEqual(1e-5 + 1e-3 * Math.abs(w)));
  }, 120_000);
});
