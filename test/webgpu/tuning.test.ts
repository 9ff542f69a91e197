/**
 * Tuning on webgpu: the matmul config space's configs all build correct kernels (checked
 * against a direct product), and the tuner's explorer, measuring on the device, returns a
 * config from the space with a finite score.
 */
import { describe, expect, test } from "vitest";
import { RandomModel, tune } from "../../compiler/autotune/explore.ts";
import { build } from "../../compiler/driver/kernel.ts";
import { gpuDevice } from "../../compiler/targets/webgpu/device.ts";
import { webgpuTarget } from "../../compiler/targets/webgpu/index.ts";
import { measureMatmulConfig, webgpuMatmulSpace } from "../../compiler/targets/webgpu/tuning.ts";
import { Rng } from "../../runtime/random.ts";

describe("webgpu matmul tuning space", () => {
  test("knobs are limited by the shape", () => {
    const s = webgpuMatmulSpace(6, 40, 3);
    expect(s.names).toEqual(["ty", "tx", "ry", "rx", "bk", "unroll"]);
    expect(s.values[0]).toEqual([4]);
    expect(s.values[4]).toEqual([4]);
  });

  test("random configs give the right product at sizes that are not tile multiples", async () => {
    const [M, N, K] = [45, 37, 29];
    const space = webgpuMatmulSpace(M, N, K);
    const rng = new Rng(5);
    const a = Float32Array.from({ length: M * K }, () => rng.uniform(-1, 1)), b = Float32Array.from({ length: K * N }, () => rng.uniform(-1, 1));
    for (let t = 0; t < 4; t++) {
      const config = space.random(rng);
      const { s, args } = space.apply(config);
      const kern = await build(s, args, { target: webgpuTarget, name: "mm" });
      const c = new Float32Array(M * N);
      await kern.runAsync(a, b, c);
      let worst = 0;
      for (let i = 0; i < M; i++) for (let j = 0; j < N; j++) {
        let want = 0;
        for (let q = 0; q < K; q++) want += a[i * K + q]! * b[q * N + j]!;
        worst = Math.max(worst, Math.abs(c[i * N + j]! - want));
      }
      expect(worst, space.key(config)).toBeLessThan(1e-4);
    }
  }, 60_000);

  test("the explorer tunes on the device and returns a measured config of the space", async () => {
    const [M, N, K] = [64, 64, 64];
    const device = await gpuDevice();
    const space = webgpuMatmulSpace(M, N, K);
    const result = await tune(space, (c) => measureMatmulConfig(device, space, c, M, N, K, 1), new RandomModel(new Rng(1)), { trials: 4, batchSize: 2, rng: new Rng(3), steps: 20 });
    expect(result.history).toHaveLength(4);
    expect(result.best).toBeDefined();
    expect(space.contains(result.best!.config)).toBe(true);
    expect(Number.isFinite(result.best!.score) && result.best!.score > 0).toBe(true);
  }, 60_000);
});
