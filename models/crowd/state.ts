/**
 * An online aggregator's state on disk, so `lathe crowd aggregate NEW.csv --state DIR/`
 * folds new labels into what earlier runs learned. A state directory holds
 *
 *   state.json          the manifest (CrowdStateManifest): format "lathe-crowd-state", its
 *                       version (CROWD_STATE_VERSION), the method and its options, the
 *                       batches seen, the classes, the sizes, and the two files below with
 *                       their byte counts and SHA-256; written last
 *   names-<gen>.json    {"items": [...], "workers": [...]}: the task index and worker
 *                       index (names in first-seen order)
 *   arrays-<gen>.bin    the arrays, each at the byte offset the manifest gives (8-byte
 *                       aligned, little-endian): item, worker, label (i32, one per label
 *                       seen: every label is kept, since the model's E-steps reread them),
 *                       seen (u8 per task), stats (f64 workers × classes × classes) and
 *                       mass (f64 classes) — the sufficient statistics —, post (f64 tasks
 *                       × classes), logConf and logPrior (f64; absent before a batch)
 *
 * <gen> is the manifest's generation, one more at every save. A save writes the new
 * generation's files under new names, then the manifest, each with writeFileAtomic (a
 * temporary file, fsync, rename), fsyncs the directory, and only then removes the older
 * generations' files. A save that stops anywhere before the manifest's rename leaves the
 * previous manifest and the files it names intact: the previous state still loads.
 * Loading checks the format, the version (naming the file on a mismatch), and each file's
 * size and SHA-256.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { endianness } from "node:os";
import { join } from "node:path";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../../runtime/atomic-file.ts";
import type { OnlineDawidSkeneState } from "./online.ts";

export const CROWD_STATE_FORMAT = "lathe-crowd-state";
export const CROWD_STATE_VERSION = 1;
export const STATE_MANIFEST = "state.json";

type DTypeName = "i32" | "u8" | "f64";
interface ArrayRef { readonly name: string; readonly dtype: DTypeName; readonly length: number; readonly offset: number }
interface FileRef { readonly file: string; readonly bytes: number; readonly sha256: string }

export interface CrowdStateManifest {
  readonly format: typeof CROWD_STATE_FORMAT;
  readonly formatVersion: number;
  /** Grows by one at every save; names the data files. */
  readonly generation: number;
  readonly method: "online-ds";
  readonly options: OnlineDawidSkeneState["options"];
  /** Batches seen. */
  readonly batches: number;
  readonly classes: readonly string[] | null;
  readonly numItems: number;
  readonly numWorkers: number;
  readonly numLabels: number;
  readonly names: FileRef;
  readonly arrays: FileRef & { readonly layout: readonly ArrayRef[] };
}

/** How a save writes one file (default writeFileAtomic); a test passes one that fails to simulate a crash. */
export type FileWriter = (file: string, data: Uint8Array) => void;

const sha256 = (b: Uint8Array): string => createHash("sha256").update(b).digest("hex");
const BYTES: Record<DTypeName, number> = { i32: 4, u8: 1, f64: 8 };
const ARRAYS: readonly (readonly [keyof OnlineDawidSkeneState, DTypeName])[] = [
  ["item", "i32"], ["worker", "i32"], ["label", "i32"], ["seen", "u8"], ["stats", "f64"], ["mass", "f64"], ["post", "f64"], ["logConf", "f64"], ["logPrior", "f64"],
];

function checkEndianness(): void {
  if (endianness() !== "LE") throw new LatheError(`crowd state files are little-endian; this host is big-endian`);
}

/** Reads the manifest of the state in `dir`, or null when there is none. */
export function readStateManifest(dir: string): CrowdStateManifest | null {
  const file = join(dir, STATE_MANIFEST);
  if (!existsSync(file)) return null;
  let m: CrowdStateManifest;
  try {
    m = JSON.parse(readFileSync(file, "utf8")) as CrowdStateManifest;
  } catch (e) {
    throw new LatheError(`${file}: not a crowd state manifest (${(e as Error).message})`);
  }
  if (typeof m !== "object" || m === null || m.format !== CROWD_STATE_FORMAT) throw new LatheError(`${file}: not a crowd state manifest (format is not "${CROWD_STATE_FORMAT}")`);
  if (m.formatVersion !== CROWD_STATE_VERSION) {
    throw new LatheError(`${file}: crowd state format version ${JSON.stringify(m.formatVersion)}; this Lathe reads version ${CROWD_STATE_VERSION} (aggregate from the labels again to rebuild the state)`);
  }
  if (m.method !== "online-ds") throw new LatheError(`${file}: state of method "${String(m.method)}"; only online-ds keeps a state`);
  return m;
}

function readRef(dir: string, ref: FileRef, what: string): Uint8Array {
  const file = join(dir, ref.file);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new LatheError(`${file}: cannot read the state's ${what} (${(e as Error).message})`);
  }
  if (bytes.length !== ref.bytes) throw new LatheError(`${file}: the state's ${what} has ${bytes.length} bytes, ${join(dir, STATE_MANIFEST)} says ${ref.bytes} (truncated or replaced)`);
  if (sha256(bytes) !== ref.sha256) throw new LatheError(`${file}: the state's ${what} does not match the sha256 in ${join(dir, STATE_MANIFEST)} (modified or corrupt)`);
  return bytes;
}

/** Loads the state in `dir`; null when `dir` holds none yet. */
export function loadCrowdState(dir: string): { manifest: CrowdStateManifest; state: OnlineDawidSkeneState } | null {
  const m = readStateManifest(dir);
  if (!m) return null;
  checkEndianness();
  const names = JSON.parse(new TextDecoder().decode(readRef(dir, m.names, "task and worker names"))) as { items: string[]; workers: string[] };
  const bin = readRef(dir, m.arrays, "arrays");
  // A Map, and dtypes checked with hasOwn: names and dtypes come from the file ("constructor" is not a dtype).
  const arrays = new Map<string, Int32Array | Uint8Array | Float64Array>();
  for (const a of m.arrays.layout) {
    if (!Object.hasOwn(BYTES, a.dtype) || !Number.isSafeInteger(a.length) || a.length < 0 || !Number.isSafeInteger(a.offset) || a.offset < 0) {
      throw new LatheError(`${join(dir, STATE_MANIFEST)}: array ${JSON.stringify(a.name)} has a malformed layout entry (dtype ${JSON.stringify(a.dtype)}, length ${JSON.stringify(a.length)}, offset ${JSON.stringify(a.offset)})`);
    }
    const n = a.length * BYTES[a.dtype];
    if (a.offset % 8 !== 0 || a.offset + n > bin.length) throw new LatheError(`${join(dir, m.arrays.file)}: array ${a.name} lies outside the file`);
    // Copy, so each array owns an aligned buffer (a Buffer's slice would share its pool).
    const bytes = new Uint8Array(n);
    bytes.set(bin.subarray(a.offset, a.offset + n));
    arrays.set(a.name, a.dtype === "i32" ? new Int32Array(bytes.buffer) : a.dtype === "u8" ? bytes : new Float64Array(bytes.buffer));
  }
  const need = <T>(name: string): T => {
    const a = arrays.get(name);
    if (!a) throw new LatheError(`${join(dir, STATE_MANIFEST)}: the state has no array "${name}"`);
    return a as T;
  };
  const state: OnlineDawidSkeneState = {
    options: m.options, t: m.batches, items: names.items, workers: names.workers, classes: m.classes,
    item: need("item"), worker: need("worker"), label: need("label"), seen: need("seen"),
    stats: need("stats"), mass: need("mass"), post: need("post"),
    logConf: (arrays.get("logConf") as Float64Array | undefined) ?? null, logPrior: (arrays.get("logPrior") as Float64Array | undefined) ?? null,
  };
  if (state.items.length !== m.numItems || state.workers.length !== m.numWorkers || state.item.length !== m.numLabels) {
    throw new LatheError(`${join(dir, STATE_MANIFEST)}: the sizes it records differ from the files' (${state.items.length} tasks, ${state.workers.length} workers, ${state.item.length} labels)`);
  }
  return { manifest: m, state };
}

/**
 * Saves `state` in `dir` (created if missing) as the next generation; see the file comment
 * for the order of writes that keeps the previous state loadable if this one stops.
 */
export function saveCrowdState(dir: string, state: OnlineDawidSkeneState, write: FileWriter = writeFileAtomic): CrowdStateManifest {
  checkEndianness();
  mkdirSync(dir, { recursive: true });
  const prev = readStateManifest(dir);
  const gen = (prev?.generation ?? 0) + 1;

  const layout: ArrayRef[] = [];
  let size = 0;
  for (const [name, dtype] of ARRAYS) {
    const a = state[name] as Int32Array | Uint8Array | Float64Array | null;
    if (a === null) continue;
    layout.push({ name, dtype, length: a.length, offset: size });
    size += Math.ceil((a.length * BYTES[dtype]) / 8) * 8;
  }
  const bin = new Uint8Array(size);
  for (const ref of layout) {
    const a = state[ref.name as keyof OnlineDawidSkeneState] as Int32Array | Uint8Array | Float64Array;
    bin.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), ref.offset);
  }
  const namesBytes = new TextEncoder().encode(JSON.stringify({ items: state.items, workers: state.workers }));
  const namesFile = `names-${gen}.json`, arraysFile = `arrays-${gen}.bin`;
  write(join(dir, namesFile), namesBytes);
  write(join(dir, arraysFile), bin);
  const manifest: CrowdStateManifest = {
    format: CROWD_STATE_FORMAT, formatVersion: CROWD_STATE_VERSION, generation: gen, method: "online-ds",
    options: state.options, batches: state.t, classes: state.classes,
    numItems: state.items.length, numWorkers: state.workers.length, numLabels: state.item.length,
    names: { file: namesFile, bytes: namesBytes.length, sha256: sha256(namesBytes) },
    arrays: { file: arraysFile, bytes: bin.length, sha256: sha256(bin), layout },
  };
  write(join(dir, STATE_MANIFEST), new TextEncoder().encode(JSON.stringify(manifest, null, 2) + "\n"));
  try {
    const fd = openSync(dir, "r");
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch {
    // Directories cannot be fsynced everywhere; the renames are still atomic.
  }
  // The new manifest is in place: the older generations (and temporary files a crash left) go.
  for (const f of readdirSync(dir)) {
    const old = /^(names|arrays)-(\d+)\.(json|bin)$/.exec(f);
    if ((old && Number(old[2]) !== gen) || /^\.(state\.json|names-\d+\.json|arrays-\d+\.bin)\.tmp-/.test(f)) rmSync(join(dir, f), { force: true });
  }
  return manifest;
}
