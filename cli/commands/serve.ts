/**
 * `lathe serve <artifact> [--port P]`: a static server on loopback (127.0.0.1) for a webgpu
 * artifact and a demo page that loads it with the browser runtime (runtime/web, bundled by
 * esbuild at start), runs it on sample inputs (runtime/web/sample.ts) and shows the outputs
 * and the time of each run. Routes: `/` the page, `/lathe-web.js` the runtime, `/model/<file>`
 * the artifact's files (plain names only). Page options: `?runs=N&dims=batch:4`.
 */
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { Command } from "commander";
import { LatheError } from "../../core/errors.ts";
import { buildWebBundle } from "../../runtime/web/bundle.ts";
import { artifactTarget } from "../../runtime/webgpu-artifact.ts";

export const DEFAULT_PORT = 8787;
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const TYPES: Readonly<Record<string, string>> = {
  ".json": "application/json", ".wgsl": "text/plain; charset=utf-8", ".bin": "application/octet-stream",
  ".js": "text/javascript; charset=utf-8", ".html": "text/html; charset=utf-8",
};

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** The demo page: loads ./model/, runs it, fills #status, #outputs and #timing, and sets window.latheDemo. */
export const DEMO_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Lathe WebGPU demo</title>
<style>
body { font: 15px system-ui, sans-serif; margin: 2em; background: #fff; color: #111; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #888; padding: 4px 10px; text-align: left; }
th { background: #dde6f5; } #status.error { color: #b00; font-weight: bold; }
</style></head>
<body>
<h1>Lathe WebGPU demo</h1>
<p id="status">loading the artifact…</p>
<table id="outputs"></table>
<table id="timing"></table>
<script type="module">
import { loadWebGpuModule, sampleInput } from "./lathe-web.js";
const status = document.getElementById("status");
const q = new URLSearchParams(location.search);
const runs = Math.max(1, Number(q.get("runs") ?? 5));
const dims = Object.fromEntries((q.get("dims") ?? "").split(",").filter(Boolean).map((p) => { const [k, v] = p.split(":"); return [k, Number(v)]; }));
const cell = (tag, text) => { const c = document.createElement(tag); c.textContent = text; return c; };
const row = (table, tag, cells) => { const r = document.createElement("tr"); cells.forEach((t) => r.append(cell(tag, t))); table.append(r); };
const fmt = (x) => (typeof x === "bigint" ? String(x) : Number.isInteger(x) ? String(x) : x.toPrecision(6));
try {
  const t0 = performance.now();
  const m = await loadWebGpuModule(new URL("./model/", location.href));
  const loadMs = performance.now() - t0;
  const inputs = Object.fromEntries(m.inputs.map((s, k) => [s.name, sampleInput(s, k, dims)]));
  const times = [];
  let outs;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    outs = await m.run(inputs);
    times.push(performance.now() - t);
  }
  const ot = document.getElementById("outputs");
  row(ot, "th", ["output", "dtype", "shape", "min", "max", "first values"]);
  for (const [name, t] of Object.entries(outs)) {
    const xs = Array.from(t.data, Number);
    row(ot, "td", [name, t.dtype, "[" + t.shape.join(", ") + "]", fmt(Math.min(...xs)), fmt(Math.max(...xs)), xs.slice(0, 8).map(fmt).join(", ")]);
  }
  const tt = document.getElementById("timing");
  row(tt, "th", ["run", "ms"]);
  times.forEach((ms, i) => row(tt, "td", [String(i + 1), ms.toFixed(3)]));
  const sorted = [...times].sort((a, b) => a - b);
  row(tt, "th", ["median", sorted[Math.floor(sorted.length / 2)].toFixed(3)]);
  status.textContent = "ran " + runs + " times; loaded and verified in " + loadMs.toFixed(1) + " ms";
  window.latheDemo = { status: "done", loadMs, times, outputs: Object.fromEntries(Object.entries(outs).map(([k, t]) => [k, { dtype: t.dtype, shape: t.shape, data: Array.from(t.data, Number) }])) };
} catch (e) {
  status.className = "error";
  status.textContent = (e && e.name ? e.name + ": " : "") + (e && e.message ? e.message : String(e));
  window.latheDemo = { status: "error", error: status.textContent };
}
</script>
</body></html>
`;

/** Serves `dir` (a webgpu artifact) and the demo page on 127.0.0.1:`port` (0: a free port). */
export async function serveArtifact(dir: string, port: number = DEFAULT_PORT): Promise<Served> {
  const target = artifactTarget(dir);
  if (target === undefined) throw new LatheError(`${dir} is not a Lathe artifact: manifest.json is missing or unreadable`);
  if (target !== "webgpu") throw new LatheError(`${dir} is a ${target} artifact; lathe serve runs webgpu artifacts in the browser (compile with --target webgpu)`);
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new LatheError(`--port must be an integer in 0..65535, got ${port}`);
  const bundle = await buildWebBundle();
  const server = http.createServer((req, res) => {
    const send = (code: number, type: string, body: string | Uint8Array) => {
      res.writeHead(code, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return send(405, "text/plain", "GET only\n");
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname === "/" || url.pathname === "/index.html") return send(200, TYPES[".html"]!, DEMO_PAGE);
    if (url.pathname === "/lathe-web.js") return send(200, TYPES[".js"]!, bundle);
    if (url.pathname === "/favicon.ico") return send(204, "text/plain", "");
    const m = /^\/model\/([^/]+)$/.exec(url.pathname);
    if (m && FILE_NAME.test(m[1]!)) {
      const file = path.join(dir, m[1]!);
      try {
        if (statSync(file).isFile()) return send(200, TYPES[path.extname(file)] ?? "application/octet-stream", readFileSync(file));
      } catch { /* a missing file is a 404 below */ }
    }
    return send(404, "text/plain", `not found: ${url.pathname}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new LatheError(`cannot listen on 127.0.0.1:${port}: ${e.message}`)));
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${addr.port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

export function serveCommand(): Command {
  return new Command("serve")
    .description("serve a webgpu artifact and a demo page that runs it in the browser, on loopback")
    .argument("<artifact>", "a webgpu artifact directory (lathe compile --target webgpu)")
    .option("--port <port>", `the port on 127.0.0.1 (0: any free one)`, String(DEFAULT_PORT))
    .action(async (dir: string, opts: { port: string }) => {
      const s = await serveArtifact(dir, Number(opts.port));
      console.log(`serving ${dir} at ${s.url} (Ctrl-C stops; open it in a browser with WebGPU)`);
      await new Promise<void>((resolve) => process.once("SIGINT", () => { void s.close().then(resolve); }));
    });
}
