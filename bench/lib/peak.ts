/**
 * The host's measured limits (bench/lib/peak.cc): the fp32 FMA peak of one core and the
 * STREAM triad bandwidth on every core. Benchmarks record them in their host record and
 * fail a row whose GFLOP/s exceed the peak; `lathe doctor --peak` prints them.
 */
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { compileShared } from "../../compiler/targets/cpu/toolchain.ts";
import { NativeLibrary } from "../../runtime/native.ts";

export interface HostPeak {
  /** fp32 GFLOP/s of one core: independent FMA chains on the widest vectors. */
  readonly gflopsPerCore: number;
  /** GB/s of a = b + s·c over 3 × 64 MiB arrays on every core (STREAM's count: 12 bytes per element). */
  readonly triadGBs: number;
  /** Vector lanes the peak kernel used (16 with AVX-512, 8 with AVX2). */
  readonly lanes: number;
}

let measured: Promise<HostPeak> | null = null;

/** Measures once per process (about a second), best of several runs. */
export function hostPeak(): Promise<HostPeak> {
  measured ??= (async () => {
    const lib = NativeLibrary.open((await compileShared(readFileSync(new URL("./peak.cc", import.meta.url), "utf8"))).path);
    const fma = lib.kernel("lathe_peak_fma"), triad = lib.kernel("lathe_peak_triad");
    const out = { data: new Float32Array(18), shape: [18], dtype: "f32" as const };
    lib.setNumThreads(1);
    const iters = 100_000_000; // about 0.2 s a run: long enough for the clock to settle
    const count = { data: Float64Array.of(iters), shape: [1], dtype: "f64" as const };
    let bestFma = Infinity;
    for (let r = 0; r < 3; r++) {
      const t0 = process.hrtime.bigint();
      fma.call([count, out]);
      bestFma = Math.min(bestFma, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const lanes = out.data[16]!, chains = out.data[17]!;
    const n = 16 * 1024 * 1024;
    const arr = () => ({ data: new Float32Array(n).fill(1), shape: [n], dtype: "f32" as const });
    const [a, b, c] = [arr(), arr(), arr()];
    lib.setNumThreads(availableParallelism());
    let bestTriad = Infinity;
    for (let r = 0; r < 6; r++) {
      const t0 = process.hrtime.bigint();
      triad.call([a, b, c]);
      bestTriad = Math.min(bestTriad, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    return {
      gflopsPerCore: Number(((iters * chains * lanes * 2) / bestFma / 1e9).toPrecision(4)),
      triadGBs: Number(((3 * 4 * n) / bestTriad / 1e9).toPrecision(3)),
      lanes,
    };
  })();
  return measured;
}
