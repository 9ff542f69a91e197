// A skipped test must say why: vitest prints only a skipped test's title, so the title names
// what is missing and the command that installs it (test/helpers/skip.ts). Tests used to be
// skipped with a bare title ("generated kernels under AddressSanitizer"), which told nobody
// what to install. This file checks skipReason's titles, and that every conditional skip in
// the repository builds its title with skipReason or spells out an install command.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, test } from "vitest";
import { NEEDS, SIMULATOR_NEEDS, skipReason } from "../helpers/skip.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

function tsFiles(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules" || e.name === "build" || e.name.startsWith(".")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) tsFiles(p, out);
    else if (e.name.endsWith(".ts")) out.push(p);
  }
  return out;
}

/** Conditional or unconditional skips: test.skipIf(…)(…), describe.runIf(…)(…), it.skip(…), (c ? test : test.skip)(…). */
const SKIP = /\b(?:test|it|describe)(?:\.each\([^)]*\))?\.(?:skipIf|runIf)\(|\b(?:test|it|describe)\.skip\(|:\s*(?:test|it|describe)\.skip\)\(/g;

/** Each skip site: file:line and the text from the call to its callback's arrow (the title's part). */
function skipSites(): { where: string; title: string }[] {
  const out: { where: string; title: string }[] = [];
  for (const file of tsFiles(ROOT)) {
    const rel = path.relative(ROOT, file);
    if (rel === "test/helpers/skip.ts" || rel === "test/regressions/skip-reasons.test.ts") continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(SKIP)) {
      const rest = text.slice(m.index!, m.index! + 800);
      const arrow = rest.indexOf("=>");
      out.push({ where: `${rel}:${text.slice(0, m.index!).split("\n").length}`, title: arrow < 0 ? rest : rest.slice(0, arrow) });
    }
  }
  return out;
}

describe("skip reasons", () => {
  test("skipReason: the plain title when nothing is missing; what and how to install when something is", () => {
    expect(skipReason("kernels stay in bounds", false)).toBe("kernels stay in bounds");
    expect(skipReason("kernels stay in bounds", null)).toBe("kernels stay in bounds");
    expect(skipReason("kernels stay in bounds", NEEDS.asan))
      .toBe("kernels stay in bounds [skipped: needs AddressSanitizer's runtime for g++ (libasan); install: apt-get install libasan8]");
    expect(skipReason("t", [SIMULATOR_NEEDS.verilator!, SIMULATOR_NEEDS.iverilog!]))
      .toBe("t [skipped: needs one of Verilator, Icarus Verilog; install one: apt-get install verilator | apt-get install iverilog]");
    expect(skipReason("t", "python3-torch is not installed (apt-get install python3-torch)")).toBe("t [skipped: python3-torch is not installed (apt-get install python3-torch)]");
    for (const n of Object.values(NEEDS)) expect(n.install).toMatch(/^apt-get install \S/);
  });

  test("every skipped test's title is built with skipReason or names an install command", () => {
    const sites = skipSites();
    expect(sites.length).toBeGreaterThan(20); // the scan finds the repository's skips
    const bare = sites.filter((s) => !/skipReason\(|\binstall\b/.test(s.title)).map((s) => `${s.where}: ${s.title.trim().split("\n")[0]}`);
    expect(bare).toEqual([]);
  });
});
