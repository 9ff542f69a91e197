/**
 * Crowd-label aggregation (docs: ../shared/design/LEARNING.md, "Crowd labels"): label
 * sets of (item, worker, label) triples, seeded simulated crowds, and the aggregators
 * crowd-kit users know — MajorityVote, Wawa, DawidSkene, OneCoinDawidSkene — plus online
 * Dawid–Skene (streaming EM). Every E-step, M-step and posterior is a compiled Lathe graph
 * (graphs.ts) over the triples.
 *
 *     const ls = LabelSet.fromTriples([["img1", "ann", "cat"], ["img1", "bob", "dog"], ["img2", "ann", "dog"]]);
 *     const ds = await new DawidSkene({ maxIter: 50 }).fit(ls);
 *     ds.labels, ds.posteriors, ds.confusion, ds.prior
 *
 *     const online = new OnlineDawidSkene();
 *     for (const batch of simulateCrowd({ ..., batches: 10 }).batches) await online.partialFit(batch);
 *     online.posteriors();
 */
export { LabelSet } from "./labels.ts";
export type { Triple, LabelSetIndices, LabelSetSizes, FromTriplesOptions } from "./labels.ts";
export { makeAnnotator, simulateCrowd, labelError } from "./simulate.ts";
export type { Annotator, AnnotatorKind, AnnotatorOptions, CrowdSpec, SimulatedCrowd } from "./simulate.ts";
export { MajorityVote, Wawa, DawidSkene, OneCoinDawidSkene } from "./aggregators.ts";
export type { CrowdResult, EmResult, WawaResult, GraphOptions, EmOptions, DawidSkeneOptions, OneCoinOptions } from "./aggregators.ts";
export { OnlineDawidSkene } from "./online.ts";
export type { OnlineDawidSkeneOptions, OnlineBatchReport } from "./online.ts";
export { setGraphOptions, segmentPlan, SEGMENT_STRATEGIES } from "./graphs.ts";
export type { SegmentStrategy, SegmentPlan } from "./graphs.ts";
