/**
 * `lathe crowd aggregate LABELS.csv --method M`: crowd-label aggregation in crowd-kit's data
 * convention (models/crowd/csv.ts reads it). The output CSV has one row per task in
 * first-seen order: `task,label,confidence,p_<class>…` (label = the top posterior's class,
 * ties to the first class; confidence = that posterior). `--annotators OUT.json` writes each
 * worker's confusion matrix or skill; `--gold GOLD.csv` prints the label error on the tasks
 * it names; `--state DIR/` (online-ds) keeps the aggregator's state (models/crowd/state.ts)
 * so a later run folds in only its new labels.
 *
 * Nothing is written until every input has been read and checked, and each file is written
 * atomically: the output CSV, then the annotators file, then the state (last, so that a run
 * stopped in between can be repeated with the same NEW.csv).
 */
import { Command, InvalidArgumentError } from "commander";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import type { Tensor } from "../../runtime/tensor.ts";
import {
  csvLine, DawidSkene, GLAD, LabelSet, MACE, loadCrowdState, MajorityVote, OneCoinDawidSkene, OnlineDawidSkene, readGoldCsv, readLabelsCsv, saveCrowdState, STATE_MANIFEST, Wawa,
} from "../../models/crowd/index.ts";
import type { CrowdCsv } from "../../models/crowd/index.ts";

/** What a batch method gives back: posteriors (tasks × classes) and, if it has them, worker parameters. */
interface Fitted {
  readonly posteriors: Float64Array | Tensor;
  readonly confusion?: Float64Array | Tensor;
  readonly skills?: Float64Array | Tensor;
  readonly prior?: Float64Array | Tensor;
}

interface FitOptions { readonly maxIter?: number }

type Method =
  | { readonly kind: "batch"; readonly describe: string; fit(ls: LabelSet, o: FitOptions): Promise<Fitted> }
  | { readonly kind: "online"; readonly describe: string }
  | { readonly kind: "unavailable"; readonly describe: string };

const em = (o: FitOptions) => (o.maxIter !== undefined ? { maxIter: o.maxIter } : {});

/**
 * The methods by name. A new aggregator plugs in here: a `batch` entry whose fit returns
 * posteriors and, optionally, confusion (workers × classes × classes), skills (one per
 * worker) and a prior; a name whose aggregator is not written yet is `unavailable` ("method
 * X is not available yet").
 */
export const METHODS: Readonly<Record<string, Method>> = {
  mv: { kind: "batch", describe: "majority vote", fit: (ls) => new MajorityVote().fit(ls) },
  wawa: { kind: "batch", describe: "worker agreement with aggregate (skills)", fit: (ls) => new Wawa().fit(ls) },
  "one-coin": { kind: "batch", describe: "one-coin Dawid–Skene (skills)", fit: (ls, o) => new OneCoinDawidSkene(em(o)).fit(ls) },
  ds: { kind: "batch", describe: "Dawid–Skene (confusion matrices)", fit: (ls, o) => new DawidSkene(em(o)).fit(ls) },
  glad: { kind: "batch", describe: "GLAD (skill: each worker's ability α)", fit: async (ls, o) => { const r = await new GLAD(em(o)).fit(ls); return { posteriors: r.posteriors, skills: r.alphas, prior: r.prior }; } },
  mace: { kind: "batch", describe: "MACE (skill: each worker's competence θ)", fit: async (ls, o) => { const r = await new MACE(em(o)).fit(ls); return { posteriors: r.posteriors, skills: r.competence }; } },
  "online-ds": { kind: "online", describe: "online Dawid–Skene (confusion matrices; --state, --batch-size)" },
};

export interface AggregateOptions {
  readonly method: string;
  /** online-ds: labels per partialFit batch (default: the whole file as one batch). */
  readonly batchSize?: number;
  readonly gold?: string;
  readonly out?: string;
  readonly annotators?: string;
  /** online-ds: the state directory to continue from (if it holds one) and to save to. */
  readonly state?: string;
  readonly allowDuplicates?: boolean;
  /** The classes, in order (default: the labels in first-seen order). */
  readonly classes?: readonly string[];
  /** Most EM passes (the EM methods; for online-ds, per batch). */
  readonly maxIter?: number;
}

export interface GoldReport { readonly tasks: number; readonly wrong: number; readonly error: number }

export interface AggregateResult {
  readonly tasks: readonly string[];
  readonly classes: readonly string[];
  readonly posteriors: Float64Array;
  /** The output CSV's text. */
  readonly csv: string;
  readonly gold?: GoldReport;
  /** The files written, in order. */
  readonly written: readonly string[];
  /** Labels read from the file, and (online-ds) in the state after the run. */
  readonly labelsRead: number;
  readonly labelsTotal: number;
}

const f64 = (x: Float64Array | Tensor): Float64Array => (x instanceof Float64Array ? x : Float64Array.from(x.data as ArrayLike<number>));

function methodOf(name: string): Method {
  const m = Object.hasOwn(METHODS, name) ? METHODS[name] : undefined;
  if (!m) throw new LatheError(`unknown method "${name}"; one of ${Object.keys(METHODS).join(", ")}`);
  if (m.kind === "unavailable") throw new LatheError(`method ${name} is not available yet`);
  return m;
}

/** The output CSV: task,label,confidence,p_<class>…, one row per task in the order given. */
export function posteriorsCsv(tasks: readonly string[], classes: readonly string[], post: Float64Array): string {
  const K = classes.length;
  const parts: string[] = [csvLine(["task", "label", "confidence", ...classes.map((c) => `p_${c}`)])];
  for (let i = 0; i < tasks.length; i++) {
    let best = 0;
    for (let c = 1; c < K; c++) if (post[i * K + c]! > post[i * K + best]!) best = c;
    const row = post.subarray(i * K, i * K + K);
    parts.push(csvLine([tasks[i]!, classes[best]!, String(row[best]!), ...Array.from(row, String)]));
  }
  return parts.join("");
}

/** Each worker's parameters as JSON: a confusion matrix (truth → label → P) or a skill. */
function annotatorsJson(method: string, workers: readonly string[], classes: readonly string[], counts: Int32Array, fitted: Fitted): string {
  const K = classes.length;
  const conf = fitted.confusion ? f64(fitted.confusion) : null, skills = fitted.skills ? f64(fitted.skills) : null;
  const prior = fitted.prior ? f64(fitted.prior) : null;
  const rows = workers.map((w, k) => {
    const out: Record<string, unknown> = { worker: w, labels: counts[k] ?? 0 };
    if (skills) out["skill"] = skills[k];
    if (conf) {
      out["confusion"] = Object.fromEntries(classes.map((t, c) => [t, Object.fromEntries(classes.map((l, j) => [l, conf[(k * K + c) * K + j]]))]));
    }
    return out;
  });
  return JSON.stringify({ method, classes, ...(prior ? { prior: Object.fromEntries(classes.map((c, k) => [c, prior[k]])) } : {}), workers: rows }, null, 2) + "\n";
}

/** The labels of `csv` at rows [lo, hi) as a LabelSet whose name tables cover every name used so far. */
function batchOf(csv: CrowdCsv, lo: number, hi: number, numItems: number, numWorkers: number, classes: readonly string[]): LabelSet {
  return LabelSet.fromIndices(
    { item: csv.item.subarray(lo, hi), worker: csv.worker.subarray(lo, hi), label: csv.label.subarray(lo, hi) },
    { numItems, numWorkers, numClasses: classes.length, items: csv.items.slice(0, numItems), workers: csv.workers.slice(0, numWorkers), classes },
  );
}

/** Runs `lathe crowd aggregate`; `log` gets the report lines (not the CSV). */
export async function aggregate(labelsPath: string, opts: AggregateOptions, log: (line: string) => void = console.log): Promise<AggregateResult> {
  const method = methodOf(opts.method);
  if (opts.batchSize !== undefined && method.kind !== "online") throw new LatheError(`--batch-size works with --method online-ds only`);
  if (opts.state !== undefined && method.kind !== "online") throw new LatheError(`--state works with --method online-ds only (the batch methods keep no state)`);
  if (opts.annotators !== undefined && opts.method === "mv") throw new LatheError(`--annotators: majority vote estimates no worker parameters; use wawa, one-coin, ds or online-ds`);
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize > 0)) throw new LatheError(`--batch-size must be a positive integer, got ${opts.batchSize}`);

  // Read and check everything before writing anything.
  const prev = opts.state !== undefined ? loadCrowdState(opts.state) : null;
  let classes = opts.classes, classesFrom = "--classes";
  if (prev?.state.classes) {
    const sc = prev.state.classes;
    if (classes && (classes.length !== sc.length || classes.some((c, k) => sc[k] !== c))) {
      throw new LatheError(`--classes [${classes.join(", ")}] differ from the classes [${sc.join(", ")}] in ${opts.state}/${STATE_MANIFEST}`);
    }
    classes = sc; classesFrom = `the state in ${opts.state}`;
  }
  if (classes && new Set(classes).size !== classes.length) throw new LatheError(`--classes names a class twice: ${classes.join(",")}`);
  const csv = await readLabelsCsv(labelsPath, {
    ...(classes ? { classes, classesFrom } : {}),
    ...(prev ? { extend: prev.state } : {}),
    allowDuplicates: opts.allowDuplicates ?? false,
  });
  const K = csv.classes.length;
  if (K < 2 && method.kind !== "batch") throw new LatheError(`${labelsPath}: online-ds needs at least 2 classes, the labels have ${K}`);
  const gold = opts.gold !== undefined ? await readGoldCsv(opts.gold, csv.items) : null;

  let post: Float64Array, fitted: Fitted, counts: Int32Array, total: number;
  const workers = csv.workers;
  let saveState: (() => void) | null = null; // online-ds with --state: run after the outputs are written
  if (method.kind === "batch") {
    const ls = batchOf(csv, 0, csv.item.length, csv.items.length, csv.workers.length, csv.classes);
    fitted = await method.fit(ls, { ...(opts.maxIter !== undefined ? { maxIter: opts.maxIter } : {}) });
    post = f64(fitted.posteriors);
    counts = new Int32Array(workers.length);
    for (const w of csv.worker) counts[w]!++;
    total = csv.item.length;
  } else {
    const iter = opts.maxIter !== undefined ? { maxIter: opts.maxIter } : {};
    const online = prev ? OnlineDawidSkene.fromState(prev.state, iter) : new OnlineDawidSkene(iter);
    const N = csv.item.length, B = opts.batchSize ?? N;
    let nI = prev?.state.items.length ?? 0, nW = prev?.state.workers.length ?? 0;
    for (let lo = 0; lo < N; lo += B) {
      const hi = Math.min(N, lo + B);
      for (let k = lo; k < hi; k++) { nI = Math.max(nI, csv.item[k]! + 1); nW = Math.max(nW, csv.worker[k]! + 1); }
      const rep = await online.partialFit(batchOf(csv, lo, hi, nI, nW, csv.classes));
      log(`online-ds batch ${rep.batch}: ${hi - lo} labels, ${rep.touchedItems} tasks, step ${rep.rho.toPrecision(4)}, ${rep.iterations} EM passes${rep.converged ? "" : " (not converged)"}`);
    }
    post = online.posteriors();
    const m = online.model()!;
    fitted = { posteriors: post, confusion: m.confusion, prior: m.prior };
    const st = online.toState();
    counts = new Int32Array(workers.length);
    for (const w of st.worker) counts[w]!++;
    total = st.item.length;
    const dir = opts.state;
    if (dir !== undefined) saveState = () => { saveCrowdState(dir, st); };
  }
  const text = posteriorsCsv(csv.items, csv.classes, post);

  let goldReport: GoldReport | undefined;
  if (gold) {
    let wrong = 0;
    gold.item.forEach((i, k) => {
      let best = 0;
      for (let c = 1; c < K; c++) if (post[i * K + c]! > post[i * K + best]!) best = c;
      if (csv.classes[best] !== gold.labels[k]) wrong++;
    });
    goldReport = { tasks: gold.item.length, wrong, error: wrong / gold.item.length };
    log(`gold: ${goldReport.tasks} tasks, ${wrong} wrong, label error ${goldReport.error.toFixed(4)}`);
  }

  const written: string[] = [];
  if (opts.out !== undefined) { writeFileAtomic(opts.out, text); written.push(opts.out); }
  if (opts.annotators !== undefined) { writeFileAtomic(opts.annotators, annotatorsJson(opts.method, workers, csv.classes, counts, fitted)); written.push(opts.annotators); }
  if (saveState) { saveState(); written.push(`${opts.state}/${STATE_MANIFEST}`); }
  return { tasks: csv.items, classes: csv.classes, posteriors: post, csv: text, ...(goldReport ? { gold: goldReport } : {}), written, labelsRead: csv.item.length, labelsTotal: total };
}

const positiveInt = (what: string) => (v: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${what} must be a positive integer, got "${v}"`);
  return Number(v);
};

export function crowdCommand(): Command {
  const cmd = new Command("crowd").description("crowd labels: aggregate task,worker,label CSVs (crowd-kit's convention) into one label per task");
  cmd.command("aggregate")
    .description("aggregate LABELS.csv (header task,worker,label) into task,label,confidence,p_<class>… (stdout, or -o); online-ds with --state folds new labels into a saved state")
    .argument("<labels>", "CSV with a header and the columns task,worker,label")
    .option("--method <name>", `one of ${Object.keys(METHODS).join(", ")}`, "ds")
    .option("--batch-size <n>", "online-ds: labels per batch (default: the whole file)", positiveInt("--batch-size"))
    .option("--gold <file>", "CSV task,label: print the label error on the tasks it names")
    .option("-o, --out <file>", "write the output CSV here (atomically) instead of stdout")
    .option("--annotators <file>", "write each worker's confusion matrix or skill as JSON")
    .option("--state <dir>", "online-ds: continue from the state in this directory (if any) and save it there")
    .option("--allow-duplicates", "keep every label of a repeated (task, worker) pair instead of failing", false)
    .option("--classes <list>", "the classes, comma-separated, in order (default: the labels in first-seen order; a label seen once is then an error)", (v: string) => v.split(","))
    .option("--max-iter <n>", "most EM passes (per batch for online-ds)", positiveInt("--max-iter"))
    .action(async (labels: string, o: { method: string; batchSize?: number; gold?: string; out?: string; annotators?: string; state?: string; allowDuplicates: boolean; classes?: string[]; maxIter?: number }) => {
      const r = await aggregate(labels, o, (line) => console.error(line));
      if (o.out === undefined) process.stdout.write(r.csv);
      console.error(`${o.method}: ${r.tasks.length} tasks, ${r.classes.length} classes, ${r.labelsRead} labels read${r.labelsTotal !== r.labelsRead ? ` (${r.labelsTotal} in the state)` : ""}${r.written.length ? `; wrote ${r.written.join(", ")}` : ""}`);
    });
  return cmd;
}
