/**
 * Config spaces for the auto-tuner: a finite grid of named knobs, each with an ordered list
 * of values. A config is one value per knob ({ mr: 4, nr: 32, ku: 2 }); configs are numbered
 * 0 … size−1 in mixed radix (the last knob varies fastest), so the explorer can sample and
 * deduplicate by index.
 *
 * Values are listed in a meaningful order (small → large factors): neighbours change one knob
 * to an adjacent value, and knobFeatures gives each knob its value's position normalized to
 * [0, 1], which is what the cost model learns from.
 *
 * Adding a target's knobs: a target (or an op's schedule template) defines its own space with
 * `defineSpace({ knobs })` and an `apply(config)` that builds its schedule from the knob values,
 * exactly as `matmulSpace` below does for the cpu GEMM template — e.g. a GPU template would add
 * `threadsX: [8, 16, 32]`, `vthread: [1, 2]`; an ordering knob is a list of strings
 * (`order: ["ijk", "ikj"]`). The explorer and cost models only see knobs and indices, so they
 * need no change per target.
 */
import { LatheError } from "../../core/errors.ts";
import type { Rng } from "../../runtime/random.ts";
import type { Schedule } from "../schedule/schedule.ts";
import type { Tensor } from "../te/tensor.ts";
import { configKey, type Config, type ConfigValue } from "./log.ts";

export type { Config, ConfigValue };

export interface SpaceSpec {
  /** Knob name → its values, in order (at least one each; no duplicates). */
  readonly knobs: Readonly<Record<string, readonly ConfigValue[]>>;
  /**
   * Knobs added after tuning logs were written: the value a config without the knob means
   * (what the template did before the knob existed), so old records stay in the space.
   */
  readonly defaults?: Readonly<Record<string, ConfigValue>>;
}

export class ConfigSpace {
  /** Knob names, in index order (the last varies fastest). */
  readonly names: readonly string[];
  /** Values per knob, parallel to names. */
  readonly values: readonly (readonly ConfigValue[])[];
  /** Number of configs. */
  readonly size: number;
  readonly #radix: number[];
  readonly #defaults: Readonly<Record<string, ConfigValue>>;

  constructor(spec: SpaceSpec) {
    const names = Object.keys(spec.knobs);
    if (names.length === 0) throw new LatheError("defineSpace: a space needs at least one knob");
    const values = names.map((n) => {
      const vs = spec.knobs[n]!;
      if (!Array.isArray(vs) || vs.length === 0) throw new LatheError(`defineSpace: knob ${n} has no values`);
      if (new Set(vs).size !== vs.length) throw new LatheError(`defineSpace: knob ${n} has duplicate values`);
      return [...vs] as readonly ConfigValue[];
    });
    for (const [k, v] of Object.entries(spec.defaults ?? {})) {
      const i = names.indexOf(k);
      if (i < 0 || !values[i]!.includes(v)) throw new LatheError(`defineSpace: the default ${k} = ${String(v)} is not one of that knob's values`);
    }
    this.#defaults = { ...spec.defaults };
    this.names = names;
    this.values = values;
    // radix[i] = product of the sizes of knobs after i
    this.#radix = new Array<number>(names.length);
    let size = 1;
    for (let i = names.length - 1; i >= 0; i--) {
      this.#radix[i] = size;
      size *= values[i]!.length;
    }
    if (!Number.isSafeInteger(size)) throw new LatheError("defineSpace: the space is too large to index");
    this.size = size;
  }

  /** The config numbered `index` (0 ≤ index < size). */
  get(index: number): Config {
    if (!Number.isInteger(index) || index < 0 || index >= this.size) {
      throw new LatheError(`ConfigSpace.get: index ${index} is outside 0…${this.size - 1}`);
    }
    const c: Record<string, ConfigValue> = {};
    this.names.forEach((n, i) => {
      c[n] = this.values[i]![Math.floor(index / this.#radix[i]!) % this.values[i]!.length]!;
    });
    return c;
  }

  /** `config` with the defaults of the knobs it lacks (a record written before those knobs existed). */
  complete(config: Config): Config {
    const missing = Object.keys(this.#defaults).filter((k) => !(k in config));
    return missing.length === 0 ? config : { ...config, ...Object.fromEntries(missing.map((k) => [k, this.#defaults[k]!])) };
  }

  /** The positions of a config's values in each knob's list; throws for a config not in the space. */
  positions(config: Config): number[] {
    const keys = Object.keys(config);
    if (keys.length !== this.names.length || keys.some((k) => !this.names.includes(k))) {
      throw new LatheError(`config ${configKey(config)} does not have this space's knobs (${this.names.join(", ")})`);
    }
    return this.names.map((n, i) => {
      const p = this.values[i]!.indexOf(config[n]!);
      if (p < 0) throw new LatheError(`config ${configKey(config)}: ${n} = ${String(config[n])} is not one of this space's values`);
      return p;
    });
  }

  /** The index of a config (inverse of get). */
  indexOf(config: Config): number {
    return this.indexAt(this.positions(config));
  }

  /** The index of the config at these positions in each knob's list (inverse of positions ∘ get). */
  indexAt(positions: readonly number[]): number {
    return positions.reduce((acc, p, i) => acc + p * this.#radix[i]!, 0);
  }

  /** Whether a config belongs to the space. */
  contains(config: Config): boolean {
    try {
      this.positions(config);
      return true;
    } catch {
      return false;
    }
  }

  /** A uniformly random config. */
  random(rng: Rng): Config {
    return this.get(rng.int(0, this.size));
  }

  /** Every config that differs from `config` in exactly one knob (any other value of that knob). */
  neighbors(config: Config, mode: "adjacent" | "any" = "any"): Config[] {
    const pos = this.positions(config);
    const out: Config[] = [];
    this.names.forEach((n, i) => {
      const vs = this.values[i]!;
      const cands = mode === "adjacent" ? [pos[i]! - 1, pos[i]! + 1].filter((p) => p >= 0 && p < vs.length) : vs.map((_, p) => p).filter((p) => p !== pos[i]);
      for (const p of cands) out.push({ ...config, [n]: vs[p]! });
    });
    return out;
  }

  /**
   * One random neighbour by index: one knob with more than one value changes, to an adjacent
   * value with probability `adjacent` (default 0.75), otherwise to any other value.
   * Returns the same index when every knob has a single value.
   */
  randomNeighbor(index: number, rng: Rng, adjacent = 0.75): number {
    const movable = this.values.map((v, i) => (v.length > 1 ? i : -1)).filter((i) => i >= 0);
    if (movable.length === 0) return index;
    const k = movable[rng.int(0, movable.length)]!;
    const n = this.values[k]!.length;
    const r = this.#radix[k]!;
    const p = Math.floor(index / r) % n;
    let q: number;
    if (rng.float() < adjacent) {
      q = p === 0 ? 1 : p === n - 1 ? n - 2 : rng.float() < 0.5 ? p - 1 : p + 1;
    } else {
      q = rng.int(0, n - 1);
      if (q >= p) q++;
    }
    return index + (q - p) * r;
  }

  /** One number per knob: the value's position in its list, normalized to [0, 1] (0 for a one-value knob). */
  knobFeatures(config: Config): Float32Array {
    const pos = this.positions(config);
    return Float32Array.from(pos, (p, i) => (this.values[i]!.length > 1 ? p / (this.values[i]!.length - 1) : 0));
  }

  /** knobFeatures of many configs, row-major (configs × knobs). */
  featureMatrix(configs: readonly Config[]): Float32Array {
    const cols = this.names.length;
    const out = new Float32Array(configs.length * cols);
    configs.forEach((c, r) => out.set(this.knobFeatures(c), r * cols));
    return out;
  }

  /** The tuning log's key for a config (log.ts configKey). */
  key(config: Config): string {
    return configKey(config);
  }
}

export function defineSpace(spec: SpaceSpec): ConfigSpace {
  return new ConfigSpace(spec);
}

/** A space whose configs build a schedule (a schedule template). */
export interface TemplateSpace extends ConfigSpace {
  apply(config: Config): { s: Schedule; args: Tensor[] };
}
