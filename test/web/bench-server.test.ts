/**
 * `lathe bench webgpu-web`'s static server: loopback only, the bundle and the page at fixed
 * paths, files only under their prefixes, by plain name (no traversal, no subdirectories).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { serveStatic } from "../../bench/webgpu-web/server.ts";

test("serves the bundle, the page and prefixed files; refuses everything else", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "lathe-bench-srv-"));
  writeFileSync(path.join(dir, "m.onnx"), "model-bytes");
  const s = await serveStatic("export const x = 1;", { "/onnx/": dir });
  try {
    expect(s.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const get = async (p: string) => { const r = await fetch(new URL(p, s.url)); return { status: r.status, text: await r.text(), type: r.headers.get("content-type") }; };
    expect(await get("/lathe-web.js")).toEqual({ status: 200, text: "export const x = 1;", type: "text/javascript" });
    expect((await get("/")).text).toContain("lathe bench webgpu-web");
    expect((await get("/onnx/m.onnx")).text).toBe("model-bytes");
    for (const p of ["/onnx/missing.onnx", "/other/m.onnx", "/onnx/..%2Fm.onnx", "/onnx/sub/m.onnx", "/onnx/.hidden"]) expect((await get(p)).status).toBe(404);
  } finally {
    await s.close();
  }
});
