/**
 * Merging the reports of a sharded fuzz run (scripts/fuzz.ts --jobs N): each child process
 * runs the draws i with i % N === its index (FuzzOptions.shard), so the shards' counts add
 * up to the unsharded run's and their findings, by draw index, are its findings.
 */
import { LatheError } from "../../core/errors.ts";
import type { FuzzReport } from "./run.ts";
import type { VtaFuzzReport } from "./vta.ts";

type Shard = { readonly index: number; readonly count: number } | undefined;

/** `--shard INDEX/COUNT` (what scripts/fuzz.ts --jobs gives each child). */
export function parseShard(v: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(v);
  const index = Number(m?.[1]), count = Number(m?.[2]);
  if (!m || count < 1 || index >= count) throw new LatheError(`--shard: expected INDEX/COUNT with INDEX < COUNT, got "${v}"`);
  return { index, count };
}

/** Every shard 0..count−1 exactly once, all of one run (same seed and number of draws). */
function checkShards(what: string, parts: readonly { readonly graphs: number; readonly shard?: Shard }[], seed?: readonly number[]): void {
  if (parts.length === 0) throw new LatheError(`${what}: no shard reports to merge`);
  const count = parts.length;
  const seen = new Set<number>();
  parts.forEach((p, k) => {
    if (!p.shard || p.shard.count !== count) throw new LatheError(`${what}: report ${k} is not one of ${count} shards (shard ${p.shard ? `${p.shard.index}/${p.shard.count}` : "absent"})`);
    if (seen.has(p.shard.index)) throw new LatheError(`${what}: shard ${p.shard.index}/${count} appears twice`);
    seen.add(p.shard.index);
    if (p.graphs !== parts[0]!.graphs || (seed && seed[k] !== seed[0])) throw new LatheError(`${what}: shard ${p.shard.index} comes from another run (graphs ${p.graphs}, seed ${seed?.[k]})`);
  });
}

const addCounts = (into: Record<string, number>, from: Readonly<Record<string, number>>): void => {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
};

/** One report from the shards' (any order); `seconds` is the whole run's wall time. */
export function mergeFuzzReports(parts: readonly FuzzReport[], seconds: number): FuzzReport {
  checkShards("fuzz report", parts, parts.map((p) => p.seed));
  const first = parts[0]!;
  const variants = first.variants.map((v, k) => {
    const reasons: Record<string, number> = {};
    let cases = 0, failures = 0, unsupported = 0;
    for (const p of parts) {
      const pv = p.variants[k];
      if (!pv || pv.name !== v.name) throw new LatheError(`fuzz report: shard ${p.shard!.index} ran other variants (${p.variants.map((x) => x.name).join(", ")})`);
      cases += pv.cases; failures += pv.failures; unsupported += pv.unsupported;
      addCounts(reasons, pv.unsupportedReasons);
    }
    return { name: v.name, cases, failures, unsupported, unsupportedReasons: reasons };
  });
  const grads = parts.map((p) => p.gradients).filter((g) => g !== null);
  const gradients = grads.length === 0 ? null : grads.reduce((a, g) => ({ cases: a.cases + g.cases, elements: a.elements + g.elements, nonSmooth: a.nonSmooth + g.nonSmooth, failures: a.failures + g.failures }));
  const ops: Record<string, number> = {}, skippedSteps: Record<string, number> = {};
  for (const p of parts) { addCounts(ops, p.ops); addCounts(skippedSteps, p.skippedSteps); }
  const findings = parts.flatMap((p) => p.findings).sort((a, b) => a.index - b.index || a.variant.localeCompare(b.variant));
  return { seed: first.seed, graphs: first.graphs, host: first.host, tolerance: first.tolerance, variants, gradients, ops, skippedSteps, findings, seconds };
}

/** One VTA report from its shards' (same simulator). */
export function mergeVtaReports(parts: readonly VtaFuzzReport[]): VtaFuzzReport {
  checkShards(`vta report`, parts);
  if (parts.some((p) => p.sim !== parts[0]!.sim)) throw new LatheError("vta report: shards ran different simulators");
  return {
    sim: parts[0]!.sim, graphs: parts[0]!.graphs,
    layersOffloaded: parts.reduce((a, p) => a + p.layersOffloaded, 0),
    failures: parts.flatMap((p) => p.failures).sort((a, b) => a.index - b.index),
  };
}
