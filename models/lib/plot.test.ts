import { describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { barPlot, heatmapPlot, linePlot, renderVegaLite, scatterPlot, type Datum } from "./plot.ts";

/**
 * Checks that `svg` is well-formed XML as far as an SVG viewer cares: one root <svg>
 * element, every tag closed in order, attribute values quoted, and no bare `<` or `&`
 * in text or attributes. Returns the element names in document order.
 */
function checkWellFormed(svg: string): string[] {
  expect(svg.startsWith("<svg")).toBe(true);
  expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
  const names: string[] = [];
  const open: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+="[^"<]*")*)\s*(\/?)>/y;
  let i = 0;
  while (i < svg.length) {
    const lt = svg.indexOf("<", i);
    const text = svg.slice(i, lt === -1 ? svg.length : lt);
    expect(text.replace(entity, ""), `text before offset ${lt}`).not.toMatch(/[&>]/);
    if (lt === -1) break;
    tag.lastIndex = lt;
    const m = tag.exec(svg);
    expect(m, `a malformed tag at offset ${lt}: ${svg.slice(lt, lt + 80)}`).not.toBeNull();
    const [whole, closing, name, attrs, selfClosing] = m!;
    expect(attrs!.replace(entity, ""), `attributes of <${name}>`).not.toMatch(/&/);
    if (closing) {
      expect(open.pop(), `</${name}> at offset ${lt}`).toBe(name);
    } else {
      if (open.length === 0) expect(names.length, "a second root element").toBe(0);
      names.push(name!);
      if (!selfClosing) open.push(name!);
    }
    i = lt + whole.length;
  }
  expect(open, "unclosed elements").toEqual([]);
  expect(names[0]).toBe("svg");
  return names;
}

test("checkWellFormed can fail", () => {
  for (const bad of ['<svg><g></svg>', "<svg><text>a & b</text></svg>", '<svg><rect width=10/></svg>', "<svg></svg><svg></svg>", "<g></g>"]) {
    expect(() => checkWellFormed(bad), bad).toThrow();
  }
  expect(checkWellFormed('<svg a="1"><g><text>a &amp; b</text></g><rect/></svg>')).toEqual(["svg", "g", "text", "rect"]);
});

const count = (s: string, sub: string): number => s.split(sub).length - 1;

const curves: Datum[] = ["sgd", "adam & co", "rmsprop <1>"].flatMap((method, m) =>
  Array.from({ length: 6 }, (_, step) => ({ step, loss: (m + 1) / (step + 1), method })));

describe("linePlot", () => {
  test("renders a well-formed SVG with its titles and one line per series", async () => {
    const svg = await linePlot({
      title: "Training loss",
      x: { field: "step", title: "Training step" },
      y: { field: "loss", title: "Cross-entropy loss", scale: "log" },
      color: { field: "method", title: "Optimizer" },
      data: curves,
    });
    checkWellFormed(svg);
    for (const text of ["Training loss", "Training step", "Cross-entropy loss", "Optimizer", "sgd", "adam &amp; co", "rmsprop &lt;1&gt;"]) {
      expect(svg).toContain(`>${text}</text>`);
    }
    expect(count(svg, 'aria-roledescription="line mark"')).toBe(3);
    // The same input renders the same bytes (committed plots diff cleanly).
    expect(await linePlot({ x: { field: "step" }, y: { field: "loss" }, color: { field: "method" }, data: curves }))
      .toBe(await linePlot({ x: { field: "step" }, y: { field: "loss" }, color: { field: "method" }, data: curves }));
  });

  test("without color, one line; with points, a point per datum", async () => {
    const one = curves.filter((d) => d.method === "sgd");
    const svg = await linePlot({ x: { field: "step" }, y: { field: "loss" }, data: one, points: true });
    checkWellFormed(svg);
    expect(count(svg, 'aria-roledescription="line mark"')).toBe(1);
    expect(count(svg, 'aria-roledescription="point"')).toBe(one.length);
    expect(svg).toContain(">step</text>"); // the field name is the default title
  });
});

test("barPlot draws a bar per datum, groups side by side; scatterPlot a point per datum", async () => {
  const data: Datum[] = [
    { module: "1", acc: 0.85, method: "GIM" }, { module: "2", acc: 0.87, method: "GIM" },
    { module: "1", acc: 0.8, method: "CPC" }, { module: "2", acc: 0.88, method: "CPC" },
  ];
  const bars = await barPlot({ title: "Probe accuracy", x: { field: "module", title: "module" }, y: { field: "acc", title: "accuracy" }, color: { field: "method" }, data });
  checkWellFormed(bars);
  expect(count(bars, 'aria-roledescription="bar"')).toBe(4);
  expect(bars).toContain(">Probe accuracy</text>");
  const points = await scatterPlot({ x: { field: "step" }, y: { field: "loss" }, color: { field: "method" }, data: curves });
  checkWellFormed(points);
  expect(count(points, 'aria-roledescription="point"')).toBe(curves.length);
});

test("heatmapPlot draws a cell and a label per datum", async () => {
  const data: Datum[] = [];
  for (let c = 0; c < 3; c++) for (let k = 0; k < 2; k++) data.push({ cluster: k, cls: `c${c}`, n: c * 10 + k });
  const svg = await heatmapPlot({ title: "Clusters vs classes", x: { field: "cluster" }, y: { field: "cls", title: "class" }, value: { field: "n", title: "points" }, data });
  checkWellFormed(svg);
  expect(count(svg, 'aria-roledescription="rect mark"')).toBe(6);
  expect(count(svg, 'aria-roledescription="text mark"')).toBe(6);
  expect(svg).toContain(">21</text>");
  await expect(heatmapPlot({ x: { field: "cluster" }, y: { field: "cls" }, value: { field: "missing" }, data })).rejects.toThrow(/no field "missing"/);
});

test("renderVegaLite takes any spec, with inline data only", async () => {
  const svg = await renderVegaLite({ data: { values: [{ a: "x", b: 1 }, { a: "y", b: 2 }] }, mark: "bar", encoding: { x: { field: "a", type: "nominal" }, y: { field: "b", type: "quantitative" } } });
  checkWellFormed(svg);
  expect(count(svg, 'aria-roledescription="bar"')).toBe(2);
  await expect(renderVegaLite({ data: { url: "https://example.com/data.json" }, mark: "bar", encoding: { x: { field: "a", type: "nominal" } } }))
    .rejects.toThrow(/inline|network/);
});

test("bad data is a LatheError naming the row and field", async () => {
  const plot = (data: Datum[]) => linePlot({ x: { field: "step" }, y: { field: "loss" }, data });
  await expect(plot([])).rejects.toThrow(/no data/);
  await expect(plot([{ step: 0, loss: 1 }, { step: 1, loss: NaN }])).rejects.toThrow(/data row 1, field "loss": .* got NaN/);
  await expect(plot([{ step: 0, loss: 1 }, { step: 1 }])).rejects.toThrow(/data row 1 has no field "loss"/);
  await expect(plot([{ step: 0, loss: Infinity }])).rejects.toThrow(LatheError);
});
