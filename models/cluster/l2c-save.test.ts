import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { LatheError } from "../../core/errors.ts";
import { Rng } from "../../runtime/random.ts";
import { L2cNetwork } from "./l2c-network.ts";
import { loadL2c, saveL2c } from "./l2c-save.ts";
import { drawBatch2d } from "./l2c-sets.ts";
import { L2cModel } from "./l2c.ts";

const ARCH = { d: 2, kMax: 3, hidden: 8, layers: 1, countHidden: 4, countFc: 8, seed: 3 };
const root = mkdtempSync(join(tmpdir(), "l2c-save-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("L2C save/load", () => {
  test("a saved model reloads with the same weights and clusters sets the same way", async () => {
    const model = new L2cModel(new L2cNetwork(ARCH)), dir = join(root, "m");
    saveL2c(model, dir, { bestMr: 0.5 });
    const json = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as Record<string, unknown>;
    expect([json["format"], json["version"], json["method"], json["k"], json["d"], json["bestMr"]]).toEqual(["lathe-cluster", 1, "l2c", 3, 2, 0.5]);
    const again = loadL2c(dir);
    expect(again.net.arch).toEqual(ARCH);
    const a = model.net.parameters(), b = again.net.parameters();
    expect(b.map((p) => p.name)).toEqual(a.map((p) => p.name));
    b.forEach((p, i) => expect(Array.from(p.value.data as Float32Array)).toEqual(Array.from(a[i]!.value.data as Float32Array)));
    // Another seed's network differs, so the equality above can fail.
    expect(Array.from(new L2cNetwork({ ...ARCH, seed: 4 }).parameters()[0]!.value.data as Float32Array)).not.toEqual(Array.from(a[0]!.value.data as Float32Array));
    const batch = drawBatch2d(new Rng(1), 3, { n: 10, kMax: 3 });
    const [x, y] = [await model.clusterBatch(batch.x, 3, 10), await again.clusterBatch(batch.x, 3, 10)];
    expect(y.map((r) => [r.k, Array.from(r.labels), Array.from(r.pk)])).toEqual(x.map((r) => [r.k, Array.from(r.labels), Array.from(r.pk)]));
  }, 120_000);

  test("bad directories get one-line errors naming the file and field", () => {
    const dir = join(root, "bad");
    saveL2c(new L2cModel(new L2cNetwork(ARCH)), dir);
    const manifest = join(dir, "model.json"), good = readFileSync(manifest, "utf8");
    const edit = (f: (m: Record<string, unknown>) => void) => { const m = JSON.parse(good) as Record<string, unknown>; f(m); writeFileSync(manifest, JSON.stringify(m)); };
    edit((m) => { m["method"] = "gmm"; });
    expect(() => loadL2c(dir)).toThrow(`${manifest}: holds a "gmm" model, not l2c`);
    edit((m) => { (m["arch"] as Record<string, unknown>)["hidden"] = 0; });
    expect(() => loadL2c(dir)).toThrow(`${manifest}: field "arch.hidden" must be a positive integer, got 0`);
    edit((m) => { (m["arch"] as Record<string, unknown>)["hidden"] = 9; });
    expect(() => loadL2c(dir)).toThrow(/l2c\.fc\.weight\.npy: shape \[2, 16\], expected \[2, 18\]/);
    writeFileSync(manifest, "{");
    expect(() => loadL2c(dir)).toThrow(LatheError);
    expect(() => loadL2c(join(root, "none"))).toThrow("no such model directory");
    writeFileSync(manifest, good);
    rmSync(join(dir, "l2c.head2.bias.npy"));
    expect(() => loadL2c(dir)).toThrow(/l2c\.head2\.bias\.npy: missing/);
  });
});
