/**
 * Plots for experiment reports: a Vega-Lite spec rendered to an SVG string in Node, with
 * no browser, canvas, fonts or network (vega's headless View with `renderer: "none"`;
 * text widths are estimated, not measured). Data must be inline: a spec that asks to
 * load a URL or a file is a LatheError, so a plot never reaches outside the process.
 *
 *     const svg = await linePlot({
 *       title: "Training loss",
 *       x: { field: "step", title: "step" },
 *       y: { field: "loss", title: "mean squared error", scale: "log" },
 *       color: { field: "method", title: "method" },   // one line per method
 *       data: [{ step: 0, loss: 1.2, method: "sgd" }, ...],
 *     });
 *     report.plot("loss", svg);   // written as models/results/<name>-loss.svg
 *
 * The helpers cover what experiments draw (curves, scatters, grouped bars); anything
 * else is a Vega-Lite spec given to renderVegaLite.
 */
import { parse, View, type Loader } from "vega";
import { compile, type TopLevelSpec } from "vega-lite";
import { LatheError } from "../../core/errors.ts";

export type { TopLevelSpec } from "vega-lite";

/** One data row: field name → number, text, or null (a missing point, left out of the mark). */
export type Datum = Readonly<Record<string, string | number | null>>;

/** An encoding channel: which field, its axis or legend title, and how to read it. */
export interface Channel {
  readonly field: string;
  /** Axis or legend title (default: the field name). */
  readonly title?: string;
  /** How the values are read; numbers default to quantitative, text to nominal. */
  readonly type?: "quantitative" | "ordinal" | "nominal" | "temporal";
  /** Scale type for a quantitative axis (default linear). */
  readonly scale?: "linear" | "log" | "sqrt";
  /** Whether a quantitative axis includes 0 (Vega-Lite's default: yes, except for log scales). */
  readonly zero?: boolean;
}

export interface PlotOptions {
  readonly title?: string;
  readonly x: Channel;
  readonly y: Channel;
  /** A field whose values split the data into series: one line / colour of points / bar per group, with a legend. */
  readonly color?: Channel;
  readonly data: readonly Datum[];
  /** Plot area in pixels (default 480 × 300). */
  readonly width?: number;
  readonly height?: number;
}

export interface LinePlotOptions extends PlotOptions {
  /** Draw a point at each datum too (default false). */
  readonly points?: boolean;
}

/** A loader that refuses every request (plots are rendered from inline data only), noting what was asked for. */
function offlineLoader(refused: string[]): Loader {
  const refuse = (what: string): Promise<never> => {
    refused.push(what);
    return Promise.reject(new LatheError(`plot: no file or network access (asked for ${what})`));
  };
  return { load: refuse, sanitize: refuse, http: refuse, file: refuse };
}

/** A logger for Vega and Vega-Lite that collects errors and warnings (each once) instead of printing them. */
function makeLogger(errors: string[], warnings: string[]) {
  const text = (args: readonly unknown[]): string => args.map((a) => (a instanceof Error ? a.message : String(a))).join(" ");
  let level = 2; // Warn
  const logger = {
    level(l?: number) {
      if (l === undefined) return level;
      level = l;
      return logger;
    },
    error(...args: unknown[]) {
      errors.push(text(args));
      return logger;
    },
    warn(...args: unknown[]) {
      const msg = text(args);
      if (level >= 2 && !warnings.includes(msg)) warnings.push(msg);
      return logger;
    },
    info() {
      return logger;
    },
    debug() {
      return logger;
    },
  };
  return logger;
}

/**
 * Renders a Vega-Lite spec to an SVG document (a string starting with `<svg`). Errors in
 * the spec or its data are LatheErrors; Vega's and Vega-Lite's warnings are printed (once each).
 */
export async function renderVegaLite(spec: TopLevelSpec): Promise<string> {
  const errors: string[] = [], warnings: string[] = [];
  const logger = makeLogger(errors, warnings);
  let vgSpec;
  try {
    vgSpec = compile(spec, { logger }).spec;
  } catch (e) {
    throw new LatheError(`plot: invalid Vega-Lite spec: ${(e as Error).message}`);
  }
  if (errors.length > 0) throw new LatheError(`plot: invalid Vega-Lite spec: ${errors.join("; ")}`);
  const refused: string[] = [];
  const view = new View(parse(vgSpec), { renderer: "none", loader: offlineLoader(refused), logger });
  try {
    const svg = await view.toSVG();
    // Vega only warns when data fails to load, and draws the plot without it.
    if (refused.length > 0) throw new LatheError(`plot: data must be inline (data.values), not loaded from ${refused.join(", ")}`);
    if (errors.length > 0) throw new LatheError(`plot: rendering failed: ${errors.join("; ")}`);
    for (const w of warnings) console.warn(`plot: ${w}`);
    return svg;
  } catch (e) {
    if (e instanceof LatheError) throw e;
    throw new LatheError(`plot: rendering failed: ${(e as Error).message}`);
  } finally {
    view.finalize();
  }
}

/** Checks the rows: every datum has the channels' fields, numbers are finite. */
function checkData(kind: string, opts: PlotOptions): void {
  if (opts.data.length === 0) throw new LatheError(`${kind}: no data to plot`);
  const fields = [opts.x, opts.y, ...(opts.color ? [opts.color] : [])].map((c) => c.field);
  opts.data.forEach((d, i) => {
    for (const f of fields) {
      if (!(f in d)) throw new LatheError(`${kind}: data row ${i} has no field "${f}" (fields: ${Object.keys(d).join(", ")})`);
    }
    for (const [k, v] of Object.entries(d)) {
      const ok = v === null || typeof v === "string" || (typeof v === "number" && Number.isFinite(v));
      if (!ok) throw new LatheError(`${kind}: data row ${i}, field "${k}": must be text, a finite number or null, got ${String(v)}`);
    }
  });
}

/** A channel's Vega-Lite encoding; the type defaults from the data (numbers quantitative, text nominal). */
function encode(c: Channel, data: readonly Datum[], fallback?: Channel["type"]) {
  const numeric = data.every((d) => typeof d[c.field] === "number" || d[c.field] === null);
  const type = c.type ?? fallback ?? (numeric ? "quantitative" : "nominal");
  const scale = c.scale !== undefined || c.zero !== undefined ? { ...(c.scale ? { type: c.scale } : {}), ...(c.zero !== undefined ? { zero: c.zero } : {}) } : undefined;
  return { field: c.field, type, title: c.title ?? c.field, ...(scale ? { scale } : {}) };
}

function baseSpec(opts: PlotOptions) {
  return {
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 480,
    height: opts.height ?? 300,
    background: "white",
    // Vega truncates legend labels at 160 px by default: series names are read in full.
    config: { legend: { labelLimit: 400 } },
    data: { values: opts.data.map((d) => ({ ...d })) },
  };
}

/** Lines of y against x, one per value of `color` (a legend names them). */
export async function linePlot(opts: LinePlotOptions): Promise<string> {
  checkData("linePlot", opts);
  const color = opts.color ? { color: encode(opts.color, opts.data, "nominal") } : {};
  return renderVegaLite({
    ...baseSpec(opts),
    mark: { type: "line", ...(opts.points ? { point: true } : {}) },
    encoding: { x: encode(opts.x, opts.data), y: encode(opts.y, opts.data), ...color },
  } as TopLevelSpec);
}

/** Points of y against x, coloured by `color`. */
export async function scatterPlot(opts: PlotOptions): Promise<string> {
  checkData("scatterPlot", opts);
  const color = opts.color ? { color: encode(opts.color, opts.data, "nominal") } : {};
  return renderVegaLite({
    ...baseSpec(opts),
    mark: { type: "point", filled: true },
    encoding: { x: encode(opts.x, opts.data), y: encode(opts.y, opts.data), ...color },
  } as TopLevelSpec);
}

/** Bars of y for each x category (x is nominal unless given); with `color`, the groups stand side by side. */
export async function barPlot(opts: PlotOptions): Promise<string> {
  checkData("barPlot", opts);
  const color = opts.color ? encode(opts.color, opts.data, "nominal") : undefined;
  return renderVegaLite({
    ...baseSpec(opts),
    mark: { type: "bar" },
    encoding: {
      x: encode(opts.x, opts.data, "nominal"),
      y: encode(opts.y, opts.data),
      ...(color ? { color, xOffset: { field: color.field, type: color.type } } : {}),
    },
  } as TopLevelSpec);
}

export interface HeatmapOptions extends Omit<PlotOptions, "color"> {
  /** The field whose value colours each cell (and is printed in it). */
  readonly value: Channel;
}

/** A grid of cells, x by y (both ordinal unless given), coloured by `value`, each cell labelled with its value. */
export async function heatmapPlot(opts: HeatmapOptions): Promise<string> {
  checkData("heatmapPlot", { ...opts, color: opts.value });
  const x = encode(opts.x, opts.data, "ordinal"), y = encode(opts.y, opts.data, "ordinal");
  const value = encode(opts.value, opts.data);
  return renderVegaLite({
    ...baseSpec(opts),
    encoding: { x, y },
    layer: [
      { mark: { type: "rect" }, encoding: { color: { ...value, scale: { scheme: "blues" } } } },
      { mark: { type: "text", fontSize: 9 }, encoding: { text: { field: opts.value.field, type: "quantitative" } } },
    ],
  } as TopLevelSpec);
}
