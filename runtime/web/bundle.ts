/**
 * Builds the browser runtime (index.ts) into one ES module with esbuild. Node-only (it is
 * not part of the bundle). `platform: "browser"` makes any Node built-in an error, so the
 * bundle provably has no Node APIs. `npm run build:web` writes build/web/lathe-web.js (the
 * package's `lathe/web` browser entry); `lathe serve` builds it in memory.
 */
import { fileURLToPath } from "node:url";
import path from "node:path";
import { LatheError } from "../../core/errors.ts";
import { writeFileAtomic } from "../atomic-file.ts";
import { mkdirSync } from "node:fs";

export const WEB_ENTRY = fileURLToPath(new URL("./index.ts", import.meta.url));
export const WEB_BUNDLE_FILE = fileURLToPath(new URL("../../build/web/lathe-web.js", import.meta.url));

/** The bundle's text. */
export async function buildWebBundle(opts: { minify?: boolean } = {}): Promise<string> {
  const esbuild = await import("esbuild");
  try {
    const r = await esbuild.build({
      entryPoints: [WEB_ENTRY], bundle: true, format: "esm", platform: "browser", target: "es2022",
      write: false, minify: opts.minify ?? false, sourcemap: false, logLevel: "silent", legalComments: "none",
    });
    return r.outputFiles[0]!.text;
  } catch (e) {
    throw new LatheError(`bundling the browser runtime failed: ${(e as Error).message.split("\n").slice(0, 3).join(" ")}`);
  }
}

/** Writes the bundle to `file` (default build/web/lathe-web.js). */
export async function writeWebBundle(file = WEB_BUNDLE_FILE): Promise<string> {
  const text = await buildWebBundle({ minify: true });
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, text);
  return file;
}

const isEntry = (): boolean => process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isEntry()) console.log(`wrote ${await writeWebBundle(process.argv[2])}`);
