/**
 * Precompiled headers for the cpu toolchain. Every generated kernel starts with the same block
 * of `#include`s (codegen/cpp/prelude.ts), and g++ spends more time parsing those headers
 * (<cmath> alone is ~20k lines) than compiling a small kernel: 0.33 of 0.5 s on a Zen 3 host.
 * That block is precompiled once per (block, flags, compiler) into the kernel cache and given to
 * every later compile with `-include`, which halves the build time of small kernels (tuning
 * candidates, the test suite, the fuzzer).
 *
 * Correctness never depends on the .gch: `-include` names the header's text, whose .gch g++
 * uses only when it matches the compile's flags, and parses the text otherwise (the
 * translation unit's own includes are then no-ops behind their guards). A .gch is written
 * under a temporary name and renamed into place, so a half-written one is never seen; one
 * damaged later makes g++ fail instead, and toolchain.ts then compiles without it and drops it.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The source's leading `#include` lines (comments and blank lines between them allowed), joined; "" when it has none. */
export function leadingIncludes(source: string): string {
  const lines: string[] = [];
  for (const raw of source.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("//")) continue;
    if (!/^#\s*include\s*[<"][^>"]+[>"]$/.test(line)) break;
    lines.push(line);
  }
  return lines.join("\n");
}

/** In-flight and finished header builds of this process, by header path. */
const building = new Map<string, Promise<string | null>>();

/**
 * The path to pass to `-include` for this source's leading includes, after making sure its
 * .gch exists in `dir`; null when the source has no include block or the header could not be
 * precompiled (the compile then goes on without one). `salt` is what the headers' meaning
 * depends on beyond their names and the flags (toolchain.ts: the compiler's identity and the
 * runtime header's bytes), because g++ does not check a .gch against the headers it was made from.
 */
export function precompiledHeader(source: string, flags: readonly string[], cxx: string, salt: string, dir: string): Promise<string | null> {
  const block = leadingIncludes(source);
  if (block === "") return Promise.resolve(null);
  const pchFlags = flags.filter((f) => f !== "-shared");
  const key = createHash("sha256").update(block).update("\0").update(pchFlags.join(" ")).update("\0").update(salt).digest("hex").slice(0, 24);
  const header = path.join(dir, `pch-${key}.h`);
  let p = building.get(header);
  if (!p) {
    p = build(header, `${block}\n`, pchFlags, cxx);
    building.set(header, p);
  }
  return p;
}

async function build(header: string, text: string, flags: readonly string[], cxx: string): Promise<string | null> {
  const gch = `${header}.gch`;
  if (existsSync(gch) && existsSync(header)) return header;
  const tmp = `${path.join(path.dirname(header), `.tmp-${process.pid}-${randomBytes(6).toString("hex")}`)}`;
  try {
    writeFileSync(`${tmp}.h`, text);
    await run(cxx, [...flags, "-x", "c++-header", `${tmp}.h`, "-o", `${tmp}.gch`], { maxBuffer: 16 * 1024 * 1024 });
    // The header text first: a .gch beside a header that is not yet there would never be looked for.
    renameSync(`${tmp}.h`, header);
    renameSync(`${tmp}.gch`, gch);
    return header;
  } catch {
    // No precompiled header (a full disk, a compiler without PCH support): compiles parse the headers as before.
    building.delete(header);
    return null;
  } finally {
    rmSync(`${tmp}.h`, { force: true });
    rmSync(`${tmp}.gch`, { force: true });
  }
}

/** Removes a header whose .gch made a compile fail that succeeds without it; the next compile makes it again. */
export function discardPrecompiledHeader(header: string): void {
  building.delete(header);
  rmSync(`${header}.gch`, { force: true });
}
