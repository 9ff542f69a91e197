/**
 * XGBoost, the auto-tuner's cost model, through Lathe's own N-API binding to Debian's
 * libxgboost (native/src/xgboost_*.cc).
 *
 *   const d = DMatrix.fromArray(features, rows, cols, { labels, groups });
 *   const model = new Booster({ objective: "rank:pairwise", nthread: 1, max_depth: 6, eta: 0.3 }, [d]);
 *   await model.train(d, 100, { evals: [[d, "train"]], onRound: (i, text) => bar.update(i) });
 *   const scores = model.predict(candidates);
 *
 * train() runs on a libuv worker thread, so the event loop keeps running. While it runs,
 * its Booster and the DMatrix objects it reads refuse other calls (XGBoost is not
 * thread-safe); dispose() then takes effect when the training thread lets go.
 * Both classes hold native memory: the garbage collector frees it, dispose() frees it now.
 * Every failure is a LatheError; XGBoost's own failures are XGBoostError with its text.
 */
import { extname, resolve } from "node:path";
import { LatheError, ShapeError } from "../../core/errors.ts";
import { loadNative } from "../../runtime/native.ts";

/** XGBoost or the binding refused a call; the message carries XGBoost's own text. */
export class XGBoostError extends LatheError {
  override name = "XGBoostError";
}

// --- the native binding -------------------------------------------------------

declare const handleKind: unique symbol;
/** Opaque handles made by the addon (type-tagged objects). */
export interface DMatrixHandle {
  readonly [handleKind]: "DMatrix";
}
export interface BoosterHandle {
  readonly [handleKind]: "Booster";
}

export type ModelFormat = "json" | "ubj";

/** The addon's `xgboost` export (native/src/xgboost.cc); absent when built without libxgboost-dev. */
export interface XGBoostNative {
  version(): [number, number, number];
  dmatrixCreate(features: Float32Array, rows: number, cols: number, missing: number): DMatrixHandle;
  dmatrixSetFloatInfo(d: DMatrixHandle, field: string, values: Float32Array): void;
  dmatrixSetUIntInfo(d: DMatrixHandle, field: string, values: Uint32Array): void;
  dmatrixShape(d: DMatrixHandle): [number, number];
  dmatrixFree(d: DMatrixHandle): void;
  boosterCreate(cache: readonly DMatrixHandle[], keys: readonly string[], values: readonly string[]): BoosterHandle;
  boosterSetParam(b: BoosterHandle, key: string, value: string): void;
  boosterBoostedRounds(b: BoosterHandle): number;
  boosterNumFeatures(b: BoosterHandle): number;
  boosterEval(b: BoosterHandle, iteration: number, dmats: readonly DMatrixHandle[], names: readonly string[]): string;
  boosterPredict(b: BoosterHandle, d: DMatrixHandle, outputMargin: boolean): Float32Array;
  boosterSaveModel(b: BoosterHandle, path: string): void;
  boosterLoadModel(b: BoosterHandle, path: string): void;
  boosterSaveToBuffer(b: BoosterHandle, format: ModelFormat): Uint8Array;
  boosterLoadFromBuffer(b: BoosterHandle, bytes: Uint8Array): void;
  boosterFree(b: BoosterHandle): void;
  boosterTrain(
    b: BoosterHandle,
    dtrain: DMatrixHandle,
    rounds: number,
    evals: readonly DMatrixHandle[],
    names: readonly string[],
    onRound?: (iteration: number, evalText: string) => void,
  ): Promise<void>;
}

/** The XGBoost binding inside a loaded addon; a LatheError says what to install if it is absent. */
export function xgboostOf(addon: object): XGBoostNative {
  const binding = (addon as { xgboost?: XGBoostNative }).xgboost;
  if (binding === undefined) {
    throw new LatheError(
      "the native addon was built without XGBoost (libxgboost-dev was not found, or LATHE_WITH_XGBOOST=OFF): " +
        "run `apt-get install libxgboost-dev`, then `npm run build:native`",
    );
  }
  return binding;
}

let binding: XGBoostNative | undefined;

/** The addon's XGBoost binding, loaded once. */
export function xgboostNative(): XGBoostNative {
  return (binding ??= xgboostOf(loadNative()));
}

const asLathe = (e: unknown): LatheError =>
  e instanceof LatheError ? e : new XGBoostError(e instanceof Error ? e.message : String(e), { cause: e });

/** Runs a native call, turning its errors into XGBoostError with the same message. */
function call<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw asLathe(e);
  }
}

/** The libxgboost version in use, e.g. "1.7.4". */
export function xgboostVersion(): string {
  return call(() => xgboostNative().version()).join(".");
}

// --- parameters ---------------------------------------------------------------

/** A list value sets the key once per element, in order (e.g. several eval_metric). */
export type ParamValue = string | number | readonly (string | number)[];

/**
 * Booster parameters, with XGBoost's names (objective, max_depth, eta, seed, eval_metric, …).
 * nthread is required: XGBoost's default, every core, oversubscribes a machine that is
 * also running measurements (tests use 1).
 */
export type BoosterParams = { readonly nthread: number } & { readonly [key: string]: ParamValue };

function paramPairs(params: Readonly<Record<string, ParamValue>>, needNthread: boolean): [string, string][] {
  if (typeof params !== "object" || params === null) throw new LatheError("XGBoost parameters must be an object");
  const nthread = params["nthread"];
  if (nthread === undefined && needNthread) {
    throw new LatheError("XGBoost parameters need an explicit nthread (e.g. { nthread: 1 }); its default uses every core");
  }
  if (nthread !== undefined && !(typeof nthread === "number" && Number.isInteger(nthread) && nthread >= 1)) {
    throw new LatheError(`XGBoost parameter nthread must be an integer >= 1, got ${String(nthread)}`);
  }
  const pairs: [string, string][] = [];
  const text = (key: string, v: unknown): string => {
    if (typeof v === "string") return v;
    if (typeof v === "number" && Number.isFinite(v)) return String(v);
    throw new LatheError(`XGBoost parameter ${key} must be a string or a finite number, got ${String(v)}`);
  };
  for (const [key, value] of Object.entries(params)) {
    for (const v of Array.isArray(value) ? (value as readonly unknown[]) : [value]) pairs.push([key, text(key, v)]);
  }
  return pairs;
}

// --- DMatrix ------------------------------------------------------------------

export interface DMatrixOptions {
  /** One per row. */
  readonly labels?: Float32Array;
  /** One per row; with groups, one per group (XGBoost weighs ranking groups, not rows). */
  readonly weights?: Float32Array;
  /** Ranking query groups: the sizes of consecutive runs of rows, summing to rows. */
  readonly groups?: Uint32Array;
  /** The feature value that marks an absent entry (default NaN). */
  readonly missing?: number;
}

const isCount = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= 0x7fffffff;

let liveDMatrix: (d: DMatrix, what: string) => DMatrixHandle;

/** XGBoost's data: a row-major rows × cols feature matrix, copied, with optional labels, weights and groups. */
export class DMatrix {
  #handle: DMatrixHandle | undefined;

  static {
    liveDMatrix = (d, what) => {
      if (!(d instanceof DMatrix)) throw new LatheError(`${what} must be a DMatrix`);
      if (d.#handle === undefined) throw new LatheError(`${what}: the DMatrix has been disposed`);
      return d.#handle;
    };
  }

  private constructor(
    handle: DMatrixHandle,
    readonly rows: number,
    readonly cols: number,
  ) {
    this.#handle = handle;
  }

  static fromArray(features: Float32Array, rows: number, cols: number, opts: DMatrixOptions = {}): DMatrix {
    if (!(features instanceof Float32Array)) throw new LatheError("DMatrix.fromArray: features must be a Float32Array");
    if (!isCount(rows) || !isCount(cols)) {
      throw new ShapeError(`DMatrix.fromArray: rows and cols must be integers >= 1, got ${rows} × ${cols}`);
    }
    if (features.length !== rows * cols) {
      throw new ShapeError(`DMatrix.fromArray: ${rows} rows × ${cols} cols needs ${rows * cols} features, got ${features.length}`);
    }
    const { labels, weights, groups, missing = NaN } = opts;
    checkArray("labels", labels, Float32Array, rows, "one per row");
    if (groups !== undefined) {
      checkArray("groups", groups, Uint32Array, groups.length, "");
      const total = groups.reduce((s, g) => s + g, 0);
      if (total !== rows || groups.includes(0)) {
        throw new ShapeError(`DMatrix.fromArray: groups must be sizes >= 1 summing to the ${rows} rows, got a sum of ${total}`);
      }
      checkArray("weights", weights, Float32Array, groups.length, "one per group");
    } else {
      checkArray("weights", weights, Float32Array, rows, "one per row");
    }
    if (typeof missing !== "number") throw new LatheError("DMatrix.fromArray: missing must be a number");

    const x = xgboostNative();
    const d = new DMatrix(call(() => x.dmatrixCreate(features, rows, cols, missing)), rows, cols);
    try {
      const h = liveDMatrix(d, "DMatrix");
      if (labels) call(() => x.dmatrixSetFloatInfo(h, "label", labels));
      if (groups) call(() => x.dmatrixSetUIntInfo(h, "group", groups));
      if (weights) call(() => x.dmatrixSetFloatInfo(h, "weight", weights));
    } catch (e) {
      d.dispose();
      throw e;
    }
    return d;
  }

  get disposed(): boolean {
    return this.#handle === undefined;
  }

  /** Frees the native matrix (after any train() reading it finishes); later use throws. */
  dispose(): void {
    if (this.#handle === undefined) return;
    const h = this.#handle;
    this.#handle = undefined;
    call(() => xgboostNative().dmatrixFree(h));
  }
}

function checkArray<T extends Float32Array | Uint32Array>(
  name: string,
  a: T | undefined,
  type: { new (n: number): T; readonly name: string },
  length: number,
  what: string,
): void {
  if (a === undefined) return;
  if (!(a instanceof type)) throw new LatheError(`DMatrix.fromArray: ${name} must be a ${type.name}`);
  if (a.length !== length) throw new ShapeError(`DMatrix.fromArray: ${name} needs ${length} values (${what}), got ${a.length}`);
}

// --- Booster ------------------------------------------------------------------

export interface TrainOptions {
  /** Matrices scored after each round, with eval_metric (or the objective's default metric). */
  readonly evals?: readonly (readonly [DMatrix, string])[];
  /**
   * Called on the JS thread after each round with its iteration (counting rounds
   * trained before) and XGBoost's eval line ("[7]\ttrain-rmse:0.0123…", "" without
   * evals). It must not use this booster; if it throws, training stops and train()
   * rejects with that error.
   */
  readonly onRound?: (round: number, evalText: string) => void;
}

export interface PredictOptions {
  /** The untransformed margin instead of the objective's output. */
  readonly outputMargin?: boolean;
}

const MODEL_EXTENSIONS = new Set([".json", ".ubj"]);

/** A gradient-boosted model. */
export class Booster {
  #handle: BoosterHandle | undefined;

  /** The cache matrices tell XGBoost the feature count up front (like xgboost.train's dtrain). */
  constructor(params: BoosterParams, cache: readonly DMatrix[] = []) {
    const pairs = paramPairs(params, true);
    if (!Array.isArray(cache)) throw new LatheError("Booster: cache must be an array of DMatrix");
    const handles = cache.map((d, i) => liveDMatrix(d, `Booster cache[${i}]`));
    const x = xgboostNative();
    this.#handle = call(() =>
      x.boosterCreate(
        handles,
        pairs.map(([k]) => k),
        pairs.map(([, v]) => v),
      ),
    );
  }

  /** Sets more parameters (in order); XGBoost checks them when it next trains or predicts. */
  setParams(params: Readonly<Record<string, ParamValue>>): void {
    const h = this.#live("setParams");
    for (const [k, v] of paramPairs(params, false)) call(() => xgboostNative().boosterSetParam(h, k, v));
  }

  /** Trains `rounds` more rounds on a worker thread; the promise settles when they are done. */
  async train(dtrain: DMatrix, rounds: number, opts: TrainOptions = {}): Promise<void> {
    const h = this.#live("train");
    if (!Number.isInteger(rounds) || rounds < 0 || rounds > 1 << 24) {
      throw new LatheError(`Booster.train: rounds must be an integer in [0, 2^24], got ${rounds}`);
    }
    const d = liveDMatrix(dtrain, "Booster.train dtrain");
    const evals = opts.evals ?? [];
    const evalHandles = evals.map(([m], i) => liveDMatrix(m, `Booster.train evals[${i}]`));
    const names = evals.map(([, name], i) => {
      if (typeof name !== "string" || name === "") throw new LatheError(`Booster.train evals[${i}] needs a name`);
      return name;
    });
    const { onRound } = opts;
    let thrown: { readonly error: unknown } | undefined;
    const report =
      onRound &&
      ((round: number, text: string): void => {
        try {
          onRound(round, text);
        } catch (e) {
          thrown = { error: e };
          throw e;
        }
      });
    try {
      await call(() => xgboostNative().boosterTrain(h, d, rounds, evalHandles, names, report));
    } catch (e) {
      if (thrown) throw thrown.error;
      throw asLathe(e);
    }
  }

  /** XGBoost's eval line for these matrices, labelled with `iteration` (default: the last round trained). */
  evaluate(evals: readonly (readonly [DMatrix, string])[], iteration?: number): string {
    const h = this.#live("evaluate");
    const handles = evals.map(([m], i) => liveDMatrix(m, `Booster.evaluate evals[${i}]`));
    const it = iteration ?? Math.max(0, this.boostedRounds - 1);
    return call(() =>
      xgboostNative().boosterEval(
        h,
        it,
        handles,
        evals.map(([, name]) => name),
      ),
    );
  }

  /** One score per row (rows × classes for multi-class objectives). */
  predict(d: DMatrix, opts: PredictOptions = {}): Float32Array {
    const h = this.#live("predict");
    const dh = liveDMatrix(d, "Booster.predict data");
    return call(() => xgboostNative().boosterPredict(h, dh, opts.outputMargin === true));
  }

  /** Rounds trained so far, including those of a loaded model. */
  get boostedRounds(): number {
    const h = this.#live("boostedRounds");
    return call(() => xgboostNative().boosterBoostedRounds(h));
  }

  /** The number of features the model expects. */
  get numFeatures(): number {
    const h = this.#live("numFeatures");
    return call(() => xgboostNative().boosterNumFeatures(h));
  }

  /** Writes the model; the extension picks the format: .json or .ubj (universal binary JSON). */
  saveModel(path: string): void {
    const h = this.#live("saveModel");
    const abs = modelPath(path, "saveModel");
    call(() => xgboostNative().boosterSaveModel(h, abs));
  }

  /** Reads a model written by saveModel (or any XGBoost .json/.ubj model). */
  static loadModel(path: string, params: BoosterParams = { nthread: 1 }): Booster {
    const abs = modelPath(path, "loadModel");
    return Booster.#loaded(params, (x, h) => x.boosterLoadModel(h, abs));
  }

  /** The model as bytes (UBJ by default, or JSON text). */
  toBuffer(format: ModelFormat = "ubj"): Uint8Array {
    const h = this.#live("toBuffer");
    if (format !== "json" && format !== "ubj") throw new LatheError(`Booster.toBuffer: format must be "json" or "ubj", got ${String(format)}`);
    return call(() => xgboostNative().boosterSaveToBuffer(h, format));
  }

  /** A model from toBuffer's bytes (JSON or UBJ). */
  static fromBuffer(bytes: Uint8Array, params: BoosterParams = { nthread: 1 }): Booster {
    if (!(bytes instanceof Uint8Array)) throw new LatheError("Booster.fromBuffer: bytes must be a Uint8Array");
    return Booster.#loaded(params, (x, h) => x.boosterLoadFromBuffer(h, bytes));
  }

  get disposed(): boolean {
    return this.#handle === undefined;
  }

  /** Frees the native booster; a running train() stops after its current round and rejects. Later use throws. */
  dispose(): void {
    if (this.#handle === undefined) return;
    const h = this.#handle;
    this.#handle = undefined;
    call(() => xgboostNative().boosterFree(h));
  }

  // A model's file carries no nthread (nor other run-time settings), so params are set
  // again after loading, and win over the model's own values.
  static #loaded(params: BoosterParams, load: (x: XGBoostNative, h: BoosterHandle) => void): Booster {
    const b = new Booster(params);
    try {
      const h = b.#live("load");
      call(() => load(xgboostNative(), h));
      b.setParams(params);
    } catch (e) {
      b.dispose();
      throw e;
    }
    return b;
  }

  #live(what: string): BoosterHandle {
    if (this.#handle === undefined) throw new LatheError(`Booster.${what}: the Booster has been disposed`);
    return this.#handle;
  }
}

function modelPath(path: string, what: string): string {
  if (typeof path !== "string" || path === "") throw new LatheError(`Booster.${what} needs a file path`);
  if (!MODEL_EXTENSIONS.has(extname(path).toLowerCase())) {
    throw new LatheError(`Booster.${what}: ${path}: the model file must end in .json or .ubj (XGBoost picks the format by extension)`);
  }
  return resolve(path);
}
