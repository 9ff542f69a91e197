/**
 * `lathe experiment continual [--quick] [--seeds 0]`: issue 19's runs, in one report.
 *
 * Protocol: MLP 784-256-256-10, SGD lr 0.01 momentum 0.9, a fresh optimiser per
 * experience, batch 64, 1 epoch per experience, pixels / 255; the first seed is used.
 * - Split-Fashion-MNIST class-incremental, every strategy (registry.ts);
 * - Permuted-Fashion-MNIST, 5 experiences: Naive, EWC, SI, Joint;
 * - Split-MNIST task-incremental (a head per task): Naive, EWC, SI;
 * - the PyTorch peer (torch_peer.py, Debian python3-torch) of Naive, Replay and EWC on
 *   Split-Fashion-MNIST, same protocol and data, one thread; null with a note when missing;
 * - Naive's speed against the peer's in alternating blocks (naiveSpeedBlocks).
 * `--quick` uses seeded subsets (3,000 training, 1,000 test examples per benchmark).
 * Nothing is tuned on the test set: hyperparameters are registry.ts's defaults.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { writeNpy } from "../../runtime/npy.ts";
import { Tensor } from "../../runtime/tensor.ts";
import type { ExecOptions } from "../../train/executable.ts";
import { missingFashionMnistFile } from "../data/fashion-mnist.ts";
import { ExperimentReport, type ExperimentOptions } from "../lib/experiment.ts";
import { loadBenchmark } from "./benchmarks.ts";
import { addResults } from "./loggers.ts";
import { backwardTransfer, finalAccuracy, forgetting } from "./metrics.ts";
import { DEFAULTS, STRATEGIES } from "./registry.ts";
import type { RunResult } from "./runner.ts";
import { runStrategy } from "./runner.ts";
import type { Benchmark } from "./scenarios.ts";

const PYTHON = "/usr/bin/python3";
const PEER = fileURLToPath(new URL("./torch_peer.py", import.meta.url));
const PEER_STRATEGIES = ["naive", "replay", "ewc"] as const;

/** Smaller runs than --quick, for tests. */
export interface ContinualExperimentSize {
  readonly trainLimit?: number;
  readonly testLimit?: number;
  readonly hidden?: readonly number[];
  readonly strategies?: readonly string[];
  readonly exec?: ExecOptions;
  /** Memory size of every rehearsal strategy (default: registry.ts's per strategy). */
  readonly memory?: number;
  /** Run the PyTorch peer (default true). */
  readonly peer?: boolean;
  /** Alternating Lathe/PyTorch blocks timing Naive (default 5; 1 with --quick). */
  readonly speedBlocks?: number;
}

interface PeerRun { matrix: number[][]; seconds: number[] }

/** Why the peer cannot run here, or null. */
function peerMissing(): string | null {
  return spawnSync(PYTHON, ["-c", "import torch, numpy"]).status !== 0 ? "PyTorch is not installed (apt-get install python3-torch python3-numpy)" : null;
}

/** The benchmark's streams as the peer's .npy files in a fresh directory (the caller removes it). */
function writePeerData(b: Benchmark): string {
  const dir = mkdtempSync(join(tmpdir(), "lathe-continual-peer-"));
  const cat = (stream: "train" | "test", what: "x" | "y"): Tensor => {
    const parts = b[stream].map((e) => e[what]);
    const n = parts.reduce((s, t) => s + t.shape[0]!, 0);
    if (what === "y") { const y = new Int32Array(n); let at = 0; for (const t of parts) { y.set(t.data as Int32Array, at); at += t.size; } return new Tensor(y, [n], "i32"); }
    const x = new Float32Array(n * b.features); let at = 0;
    for (const t of parts) { x.set(t.data as Float32Array, at); at += t.size; }
    return new Tensor(x, [n, b.features], "f32");
  };
  writeNpy(join(dir, "x_train.npy"), cat("train", "x")); writeNpy(join(dir, "y_train.npy"), cat("train", "y"));
  writeNpy(join(dir, "x_test.npy"), cat("test", "x")); writeNpy(join(dir, "y_test.npy"), cat("test", "y"));
  return dir;
}

/** One run of the peer on data written by writePeerData, or why it failed. */
function callPeer(dir: string, b: Benchmark, hidden: readonly number[], seed: number, memory: number, strategies: readonly string[]): Record<string, PeerRun> | string {
  const cfg = { hidden, groups: b.train.map((e) => e.classes), lr: 0.01, momentum: 0.9, batch: 64, epochs: 1, seed, memory, ewc_lambda: DEFAULTS.ewcLambda, fisher_samples: DEFAULTS.ewcFisherSamples, strategies };
  const r = spawnSync(PYTHON, [PEER, dir], { input: JSON.stringify(cfg), encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) return `the PyTorch peer failed: ${(r.stderr || r.error?.message || "").trim().split("\n").at(-1)}`;
  return JSON.parse(r.stdout) as Record<string, PeerRun>;
}

/** The peer's runs, or why there are none. */
function torchPeer(b: Benchmark, hidden: readonly number[], seed: number, memory: number): Record<string, PeerRun> | string {
  const missing = peerMissing();
  if (missing) return missing;
  const dir = writePeerData(b);
  try {
    return callPeer(dir, b, hidden, seed, memory, PEER_STRATEGIES);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Experiences each speed block trains (the first, with Lathe's compilations, is not timed). */
const SPEED_EXPERIENCES = 3;

/**
 * Naive's training speed against the peer's, in alternating blocks: each block trains Naive
 * on the first SPEED_EXPERIENCES experiences in Lathe, then in PyTorch, and gives the ratio of
 * their mean times per experience after the first (> 1: Lathe is faster). A single pair of
 * runs moved by 1.8× with load on the other core; blocks give a median and a spread.
 */
async function naiveSpeedBlocks(b: Benchmark, blocks: number, protocol: Parameters<typeof runStrategy>[2], hidden: readonly number[], seed: number): Promise<{ ratios: number[]; lathe: number[]; torch: number[] } | string> {
  const sub: Benchmark = { ...b, train: b.train.slice(0, SPEED_EXPERIENCES), test: b.test.slice(0, SPEED_EXPERIENCES) };
  const dir = writePeerData(sub);
  const late = (xs: readonly number[]) => mean(xs.slice(1));
  const out = { ratios: [] as number[], lathe: [] as number[], torch: [] as number[] };
  try {
    for (let k = 0; k < blocks; k++) {
      const ours = late((await runStrategy(sub, "naive", protocol)).summary.seconds);
      const peer = callPeer(dir, sub, hidden, seed, 1, ["naive"]);
      if (typeof peer === "string") return peer;
      const theirs = late(peer["naive"]!.seconds);
      out.lathe.push(ours); out.torch.push(theirs); out.ratios.push(theirs / ours);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

export async function run(opts: ExperimentOptions, size: ContinualExperimentSize = {}): Promise<ExperimentReport> {
  const seeds = opts.seeds ?? [0], seed = seeds[0] ?? 0;
  const report = new ExperimentReport("continual", { seeds: [seed] });
  const trainLimit = size.trainLimit ?? (opts.quick ? 3000 : undefined), testLimit = size.testLimit ?? (opts.quick ? 1000 : undefined);
  const limits = { ...(trainLimit ? { trainLimit } : {}), ...(testLimit ? { testLimit } : {}) };
  const hidden = size.hidden ?? [256, 256];
  const protocol = { hidden, lr: 0.01, momentum: 0.9, batchSize: 64, epochs: 1, seed, ...(size.exec ? { exec: size.exec } : {}), ...(size.memory ? { memory: size.memory } : {}) };
  report.note(`protocol: MLP ${[784, ...hidden, 10].join("-")}, SGD lr 0.01 momentum 0.9 (fresh per experience), batch 64, 1 epoch per experience, pixels / 255, seed ${seed}; hyperparameters are registry.ts's defaults (not tuned on any split)`);
  if (limits.trainLimit || limits.testLimit) report.note(`seeded subsets: ${limits.trainLimit ?? "all"} training and ${limits.testLimit ?? "all"} test examples per benchmark; memory sizes scaled by the same fraction`);
  report.note("times are training wall time per experience on one process, including each strategy's graph compilations on its first experience");

  // On subsets, memories shrink in proportion (2,000 of 60,000 → 100 of 3,000), so a memory never holds the whole set.
  const memoryFor = (n: string, b: Benchmark): { memory?: number } => {
    if (size.memory !== undefined || DEFAULTS.memory[n] === undefined) return {};
    const train = b.train.reduce((s, e) => s + e.y.size, 0), full = b.name.includes("fmnist") ? 60000 : 7000;
    return train < full ? { memory: Math.max(1, Math.round((DEFAULTS.memory[n]! * train) / full)) } : {};
  };
  const runAll = async (b: Benchmark, names: readonly string[]): Promise<RunResult[]> => {
    const out: RunResult[] = [];
    for (const n of names) out.push(await runStrategy(b, n, { ...protocol, ...memoryFor(n, b) }));
    await addResults(report, out);
    return out;
  };

  const missing = missingFashionMnistFile();
  if (missing) {
    report.note(`Fashion-MNIST benchmarks not run: ${missing} is missing (apt-get install dataset-fashion-mnist)`);
  } else {
    const fm = loadBenchmark("split-fmnist", { seed, ...limits });
    const all = await runAll(fm, size.strategies ?? STRATEGIES);
    const byName = new Map(all.map((r) => [r.strategy, r]));
    const naive = byName.get("naive");
    const peer = size.peer === false ? "the peer was not asked for" : torchPeer(fm, hidden, seed, size.memory ?? memoryFor("replay", fm).memory ?? DEFAULTS.memory.replay!);
    if (typeof peer === "string") {
      report.note(`PyTorch peer not run: ${peer}`);
      for (const s of PEER_STRATEGIES) report.metric(`split-fmnist.torch-${s}.final_acc`, null);
    } else {
      const t = report.table("split-fmnist: PyTorch peer (same protocol, 1 thread)", ["strategy", "ACC", "forgetting", "BWT", "s / experience", "Lathe ACC", "Lathe s / experience"]);
      for (const s of PEER_STRATEGIES) {
        const p = peer[s]!, ours = byName.get(s);
        t.row(`torch ${s}`, finalAccuracy(p.matrix), forgetting(p.matrix), backwardTransfer(p.matrix), mean(p.seconds), ours?.summary.finalAcc ?? null, ours ? mean(ours.summary.seconds) : null);
        report.metric(`split-fmnist.torch-${s}.final_acc`, finalAccuracy(p.matrix)).metric(`split-fmnist.torch-${s}.forgetting`, forgetting(p.matrix)).metric(`split-fmnist.torch-${s}.bwt`, backwardTransfer(p.matrix));
      }
      if (naive) {
        report.note(`bar (Naive within ±0.03 of PyTorch's): ${naive.summary.finalAcc.toFixed(3)} vs ${finalAccuracy(peer.naive!.matrix).toFixed(3)} — ${Math.abs(naive.summary.finalAcc - finalAccuracy(peer.naive!.matrix)) <= 0.03 ? "MET" : "NOT MET"}`);
        const blocks = size.speedBlocks ?? (opts.quick ? 1 : 5);
        const speed = await naiveSpeedBlocks(fm, blocks, protocol, hidden, seed);
        if (typeof speed === "string") {
          report.note(`Naive speed blocks not run: ${speed}`);
          report.metric("split-fmnist.naive.speed_vs_torch", null);
        } else {
          const r = median(speed.ratios);
          report.metric("split-fmnist.naive.speed_vs_torch", r);
          const ms = (xs: readonly number[]) => `${(median(xs) * 1000).toFixed(0)} ms (${(Math.min(...xs) * 1000).toFixed(0)}–${(Math.max(...xs) * 1000).toFixed(0)})`;
          report.note(`speed: Naive per experience (experiences 2–${SPEED_EXPERIENCES}, ${blocks} alternating block${blocks > 1 ? "s" : ""}, 1 thread each): Lathe ${ms(speed.lathe)}, PyTorch ${ms(speed.torch)}; ratio median ${r.toFixed(3)} (${Math.min(...speed.ratios).toFixed(3)}–${Math.max(...speed.ratios).toFixed(3)})`);
          report.note(`bar (Naive ≥ 1.0× PyTorch's speed): ${r.toFixed(3)} — ${r >= 1 ? "MET" : "NOT MET"}${opts.quick ? " (quick: subsets; the bar is for the full run)" : ""}`);
        }
      }
    }
    if (naive) {
      for (const s of ["ewc", "replay"]) {
        const r = byName.get(s);
        if (r) report.metric(`split-fmnist.${s}.overhead_vs_naive`, mean(r.summary.seconds.slice(1)) / mean(naive.summary.seconds.slice(1)));
      }
    }
    const bar = (name: string, target: number, than?: string) => {
      const r = byName.get(name);
      if (!r) return;
      const want = than ? (byName.get(than)?.summary.finalAcc ?? NaN) : target;
      report.note(`bar (split-fmnist ${name} ≥ ${than ?? target}): ${r.summary.finalAcc.toFixed(3)} — ${r.summary.finalAcc >= want ? "MET" : "NOT MET"}${opts.quick ? " (quick: subsets; the bar is for the full run)" : ""}`);
    };
    bar("replay", 0.77); bar("gdumb", 0.75); bar("cumulative", 0.82); bar("joint", 0.82); bar("er-ace", 0, "replay");

    const pm = loadBenchmark("permuted-fmnist", { seed, ...limits });
    const perm = await runAll(pm, ["naive", "ewc", "si", "joint"].filter((s) => !size.strategies || size.strategies.includes(s)));
    const pn = perm.find((r) => r.strategy === "naive");
    for (const r of perm.filter((x) => x.strategy === "ewc" || x.strategy === "si")) {
      if (pn) report.note(`bar (permuted-fmnist ${r.strategy} ≥ Naive + 0.05): ${r.summary.finalAcc.toFixed(3)} vs ${pn.summary.finalAcc.toFixed(3)} — ${r.summary.finalAcc >= pn.summary.finalAcc + 0.05 ? "MET" : "NOT MET"}`);
    }
  }

  const tm = loadBenchmark("split-mnist-task", { seed, ...(limits.trainLimit ? { trainLimit: Math.min(limits.trainLimit, 7000) } : {}), ...(limits.testLimit ? { testLimit: Math.min(limits.testLimit, 1500) } : {}) });
  const task = await runAll(tm, ["naive", "ewc", "si"].filter((s) => !size.strategies || size.strategies.includes(s)));
  const si = task.find((r) => r.strategy === "si");
  if (si) report.note(`bar (split-mnist-task SI ≥ 0.95): ${si.summary.finalAcc.toFixed(3)} — ${si.summary.finalAcc >= 0.95 ? "MET" : "NOT MET"}`);
  return report;
}
