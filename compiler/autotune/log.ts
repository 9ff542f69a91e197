/**
 * The tuning log: append-only JSON lines, one measurement per line. Each append is a
 * single write of the whole line followed by fsync, so a run killed at any moment loses
 * at most the line being written; the reader skips such a torn line with a warning
 * instead of failing, and every earlier line stays readable.
 *
 * Each record carries the fingerprint of the compiler and host that measured it (written by
 * the tuner from its target's `TuningTarget.fingerprint`; the cpu one is
 * compiler/targets/cpu/fingerprint.ts). A record of another fingerprint was measured for
 * code this compiler no longer builds, or on another machine: readers keep it in the file
 * but do not trust it (`splitByFingerprint`). Records written before fingerprints existed
 * have none: their fingerprint is `UNKNOWN_FINGERPRINT`, which matches no current one, so
 * they count as stale too (reported, re-measured on resume, used for compiling only when
 * stale records are accepted) — nothing says which compiler or host measured them.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { basename } from "node:path";
import { LatheError } from "../../core/errors.ts";

export type ConfigValue = number | string;
export type Config = Readonly<Record<string, ConfigValue>>;

export interface TuneRecord {
  /** The task key (see task.ts `taskKey`). */
  readonly task: string;
  readonly config: Config;
  /** Seconds per repeat; null when the measurement failed. */
  readonly costs: readonly number[] | null;
  /** Why the build or run failed; null on success. */
  readonly error: string | null;
  /** ISO-8601 time of the measurement. */
  readonly time: string;
  readonly version: 1;
  /**
   * The task itself (task.ts TaskSpec), written with a task's first record in a log so that a
   * later run can lower that task's configs again (transfer learning); absent elsewhere.
   */
  readonly spec?: unknown;
  /**
   * The fingerprint of the compiler and host that measured it (see the header); absent in
   * records written before fingerprints existed, and from targets that have none.
   */
  readonly fingerprint?: string;
  /**
   * Where it was measured when a queue's worker measured it (compiler/distributed): the
   * worker's id, its device key and the job's id (one record per job: the tuner writes a
   * trial once however often the queue delivered its job). Absent for local measurements.
   */
  readonly worker?: string;
  readonly device?: string;
  readonly job?: string;
}

export const LOG_VERSION = 1;

/** Appends one record as one line and makes it durable before returning. */
export function appendRecord(path: string, rec: TuneRecord): void {
  const problem = recordProblem(rec);
  if (problem) throw new LatheError(`appendRecord(${path}): invalid record: ${problem}`);
  // Serialise first so a throw cannot leave half a line; one writeSync keeps the line whole
  // (O_APPEND places it at the end even when several processes append).
  const fd = openSync(path, "a+");
  try {
    // A run killed mid-write leaves a torn last line; start on a fresh line so that only the
    // torn one is lost, not this record too.
    const size = fstatSync(fd).size;
    const last = Buffer.alloc(1);
    const torn = size > 0 && readSync(fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a;
    const line = Buffer.from((torn ? "\n" : "") + JSON.stringify(rec) + "\n", "utf8");
    let off = 0;
    while (off < line.length) off += writeSync(fd, line, off, line.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export interface ReadLogOptions {
  /** Called once per skipped line, e.g. "tune.jsonl:17: not valid JSON (truncated?) — skipped". */
  readonly onWarning?: (message: string) => void;
}

/** Reads every valid record; a missing file is an empty log. */
export function readLog(path: string, opts: ReadLogOptions = {}): TuneRecord[] {
  if (!existsSync(path)) return [];
  const warn = opts.onWarning ?? (() => {});
  const name = basename(path);
  const lines = readFileSync(path, "utf8").split("\n");
  const out: TuneRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      warn(`${name}:${i + 1}: not valid JSON (truncated?) — skipped`);
      return;
    }
    const problem = recordProblem(parsed);
    if (problem) {
      warn(`${name}:${i + 1}: ${problem} — skipped`);
      return;
    }
    out.push(parsed as TuneRecord);
  });
  return out;
}

/** Why a parsed value is not a valid record, or null when it is one. */
function recordProblem(v: unknown): string | null {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return "not a JSON object";
  const r = v as Record<string, unknown>;
  if (r.version !== LOG_VERSION) return `unsupported version ${JSON.stringify(r.version)} (expected ${LOG_VERSION})`;
  if (typeof r.task !== "string" || r.task === "") return "field task is not a non-empty string";
  const c = r.config;
  if (typeof c !== "object" || c === null || Array.isArray(c)) return "field config is not an object";
  for (const [k, x] of Object.entries(c)) {
    if (typeof x !== "string" && !(typeof x === "number" && Number.isFinite(x))) return `config.${k} is not a number or string`;
  }
  if (r.costs !== null) {
    if (!Array.isArray(r.costs)) return "field costs is not an array or null";
    if (!r.costs.every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0)) return "field costs holds a value that is not a non-negative number";
  }
  if (r.error !== null && typeof r.error !== "string") return "field error is not a string or null";
  if (typeof r.time !== "string" || Number.isNaN(Date.parse(r.time))) return "field time is not an ISO date string";
  if (r.spec !== undefined && (typeof r.spec !== "object" || r.spec === null || Array.isArray(r.spec))) return "field spec is not an object";
  if (r.fingerprint !== undefined && (typeof r.fingerprint !== "string" || r.fingerprint === "")) return "field fingerprint is not a non-empty string";
  for (const f of ["worker", "device", "job"] as const) {
    if (r[f] !== undefined && (typeof r[f] !== "string" || r[f] === "")) return `field ${f} is not a non-empty string`;
  }
  return null;
}

/** Builds a record stamped with the current time (and `fingerprint`, when given). */
export function makeRecord(task: string, config: Config, costs: readonly number[] | null, error: string | null = null, fingerprint?: string): TuneRecord {
  const rec: TuneRecord = { task, config: { ...config }, costs: costs === null ? null : [...costs], error, time: new Date().toISOString(), version: LOG_VERSION };
  return fingerprint === undefined ? rec : { ...rec, fingerprint };
}

/** The fingerprint a record without one (written before fingerprints existed) is reported under. */
export const UNKNOWN_FINGERPRINT = "unknown";

/** A record's fingerprint, UNKNOWN_FINGERPRINT when it has none. */
export const recordFingerprint = (r: TuneRecord): string => r.fingerprint ?? UNKNOWN_FINGERPRINT;

/**
 * Whether a record was measured by the compiler and host of `fingerprint`. With no current
 * fingerprint (a target that has none) every record counts as current, as before
 * fingerprints existed; otherwise a record without one is stale.
 */
export function isCurrentRecord(r: TuneRecord, fingerprint: string | undefined): boolean {
  return fingerprint === undefined || r.fingerprint === fingerprint;
}

export interface FingerprintSplit {
  /** Records of the current fingerprint, in log order. */
  readonly current: TuneRecord[];
  /** The others, in log order. */
  readonly stale: TuneRecord[];
  /** Stale fingerprint → how many records carry it, in order of first appearance. */
  readonly staleCounts: ReadonlyMap<string, number>;
}

/** Splits records into those of `fingerprint` and the stale rest (see isCurrentRecord). */
export function splitByFingerprint(records: readonly TuneRecord[], fingerprint: string | undefined): FingerprintSplit {
  const current: TuneRecord[] = [], stale: TuneRecord[] = [];
  const staleCounts = new Map<string, number>();
  for (const r of records) {
    if (isCurrentRecord(r, fingerprint)) current.push(r);
    else {
      stale.push(r);
      const f = recordFingerprint(r);
      staleCounts.set(f, (staleCounts.get(f) ?? 0) + 1);
    }
  }
  return { current, stale, staleCounts };
}

/**
 * "N records from another compiler/host (fingerprint X)" for a report; several fingerprints
 * are listed with their counts ("fingerprints a ×3, unknown ×2"). Empty when none are stale.
 */
export function describeStale(staleCounts: ReadonlyMap<string, number>): string {
  const total = [...staleCounts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return "";
  const fps = [...staleCounts].map(([f, n]) => (f === UNKNOWN_FINGERPRINT ? "unknown: written before fingerprints" : f) + (staleCounts.size > 1 ? ` ×${n}` : ""));
  return `${total} record${total === 1 ? "" : "s"} from another compiler/host (fingerprint${fps.length > 1 ? "s" : ""} ${fps.join(", ")})`;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** A successful record's cost (median of repeats), or null when it has none. */
export function recordCost(r: TuneRecord): number | null {
  return r.error === null && r.costs !== null && r.costs.length > 0 ? median(r.costs) : null;
}

/** Task key → the record with the lowest median cost; failed measurements are ignored. */
export function bestConfigs(records: readonly TuneRecord[]): Map<string, TuneRecord> {
  const best = new Map<string, { rec: TuneRecord; cost: number }>();
  for (const r of records) {
    const cost = recordCost(r);
    if (cost === null) continue;
    const cur = best.get(r.task);
    // Strict < keeps the earliest of equal-cost records, so the choice is deterministic.
    if (!cur || cost < cur.cost) best.set(r.task, { rec: r, cost });
  }
  return new Map([...best].map(([k, v]) => [k, v.rec]));
}

/** A stable key for a config: JSON with keys sorted, so key order does not matter. */
export function configKey(config: Config): string {
  const keys = Object.keys(config).sort();
  return JSON.stringify(keys.map((k) => [k, config[k]]));
}

/** Keys of every config measured for a task (failures included: they need not be retried). */
export function measuredConfigs(records: readonly TuneRecord[], task: string): Set<string> {
  return new Set(records.filter((r) => r.task === task).map((r) => configKey(r.config)));
}
