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
 *
 * CSV in crowd-kit's convention (csv.ts, streaming, every bad input a file:line:column
 * error) and the online model's state directory (state.ts) serve `lathe crowd aggregate`.
 */
export { LabelSet } from "./labels.ts";
export type { Triple, LabelSetIndices, LabelSetSizes, FromTriplesOptions } from "./labels.ts";
export { makeAnnotator, simulateCrowd, labelError } from "./simulate.ts";
export type { Annotator, AnnotatorKind, AnnotatorOptions, CrowdSpec, SimulatedCrowd } from "./simulate.ts";
export { MajorityVote, Wawa, DawidSkene, OneCoinDawidSkene } from "./aggregators.ts";
export type { CrowdResult, EmResult, WawaResult, GraphOptions, EmOptions, DawidSkeneOptions, OneCoinOptions } from "./aggregators.ts";
export { OnlineDawidSkene } from "./online.ts";
export type { OnlineDawidSkeneOptions, OnlineBatchReport, OnlineDawidSkeneState } from "./online.ts";
export { GLAD, gladObjective, type GladOptions, type GladResult } from "./glad.ts";
export { MACE, type MaceOptions, type MaceResult, type MaceStart, type MaceMethod } from "./mace.ts";
export { readLabelsCsv, readGoldCsv, readCsvRecords, csvField, csvLine } from "./csv.ts";
export type { CrowdCsv, GoldCsv, ReadLabelsOptions, CsvRecord } from "./csv.ts";
export { loadCrowdState, saveCrowdState, CROWD_STATE_FORMAT, CROWD_STATE_VERSION, STATE_MANIFEST } from "./state.ts";
export type { CrowdStateManifest, FileWriter } from "./state.ts";
export { setGraphOptions, segmentPlan, SEGMENT_STRATEGIES } from "./graphs.ts";
export type { SegmentStrategy, SegmentPlan } from "./graphs.ts";
export { RbfSvm, confidenceWeights, softmaxRows } from "./svm.ts";
export type { RbfSvmOptions, SvmLoss } from "./svm.ts";
export { MlpClassifier } from "./mlp-classifier.ts";
export type { MlpClassifierOptions } from "./mlp-classifier.ts";
export { pickItems, relabel, entropyScores, centScores, budgetFor, truthOracle, errorsFixed, labelErrors, RELABEL_STRATEGIES } from "./relabel.ts";
export type { RelabelStrategy, PickOptions, Oracle, Posteriors } from "./relabel.ts";
