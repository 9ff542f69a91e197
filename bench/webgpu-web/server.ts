/**
 * The bench page's static server, on loopback only: `/` a blank page, `/lathe-web.js` the
 * browser runtime's bundle, and files under named prefixes (`/ort/`, `/models/mlp/`, …)
 * from their directories (plain file names only).
 */
import { readFileSync, statSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";

const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const TYPES: Readonly<Record<string, string>> = {
  ".mjs": "text/javascript", ".js": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
};

export interface StaticServer { readonly url: string; close(): Promise<void> }

export async function serveStatic(bundle: string, dirs: Readonly<Record<string, string>>): Promise<StaticServer> {
  const server = http.createServer((req, res) => {
    const send = (code: number, type: string, body: string | Uint8Array) => { res.writeHead(code, { "content-type": type }); res.end(body); };
    const p = new URL(req.url ?? "/", "http://localhost").pathname;
    if (p === "/") return send(200, "text/html", "<!doctype html><title>lathe bench webgpu-web</title><p>bench</p>");
    if (p === "/lathe-web.js") return send(200, "text/javascript", bundle);
    const cut = p.lastIndexOf("/"), prefix = p.slice(0, cut + 1), name = p.slice(cut + 1);
    const dir = dirs[prefix];
    if (dir !== undefined && FILE_NAME.test(name)) {
      const file = path.join(dir, name);
      try {
        if (statSync(file).isFile()) return send(200, TYPES[path.extname(name)] ?? "application/octet-stream", readFileSync(file));
      } catch { /* 404 below */ }
    }
    return send(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
