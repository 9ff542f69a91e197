/**
 * Runs ONNX's backend-test cases through Lathe and writes docs/onnx-conformance.md.
 *
 *   npx tsx scripts/onnx-conformance.ts                  # whole suite, rewrites the report
 *   npx tsx scripts/onnx-conformance.ts --filter conv    # matching "folder/case", report to stdout
 *   npx tsx scripts/onnx-conformance.ts --folder node    # one folder (repeatable), report to stdout
 */
import { writeFileSync } from "node:fs";
import { Command } from "commander";
import {
  FOLDERS, TESTDATA_ROOT, countByFolder, listCases, renderReport, runConformance, unsupportedOpRanking,
} from "../compiler/driver/onnx-conformance.ts";

const REPORT = new URL("../docs/onnx-conformance.md", import.meta.url);

const cli = new Command("onnx-conformance")
  .option("--filter <regex>", "only cases whose 'folder/case' matches")
  .option("--folder <name>", "only this folder (repeatable)", (v: string, acc: string[]) => [...acc, v], [] as string[])
  .option("--root <dir>", "test-data root", TESTDATA_ROOT)
  .option("--libraries <n>", "shared libraries to spread the graphs over", (v) => Number(v), 24)
  .option("--no-hints", "do not run the interpreter on failing cases")
  .option("--out <file>", "write the report here (default: docs/onnx-conformance.md for a full run, stdout otherwise)")
  .parse();
const o = cli.opts<{ filter?: string; folder: string[]; root: string; libraries: number; hints: boolean; out?: string }>();

const folders = o.folder.length ? o.folder : [...FOLDERS];
const partial = o.filter !== undefined || o.folder.length > 0;
const cases = listCases(o.root, folders, o.filter ? new RegExp(o.filter) : undefined);
if (cases.length === 0) {
  process.stderr.write(`no cases under ${o.root} for ${folders.join(", ")}${o.filter ? ` matching /${o.filter}/` : ""}\n`);
  process.exit(1);
}
const t0 = performance.now();
const results = await runConformance(cases, {
  libraries: o.libraries, hints: o.hints,
  log: (m) => process.stderr.write(`${m}\n`),
});
const report = renderReport(results, o.root);
if (o.out || !partial) {
  writeFileSync(o.out ?? REPORT, report);
  process.stderr.write(`wrote ${o.out ?? REPORT.pathname}\n`);
} else process.stdout.write(report);

for (const [f, c] of countByFolder(results)) {
  process.stderr.write(`${f}: ${c.pass}/${c.total} pass, ${c.fail} fail, ${c.unsupported} unsupported, ${c.error} error, ${c.crash} crash\n`);
}
const top = unsupportedOpRanking(results).slice(0, 15).map(([op, n]) => `${op} ${n}`).join(", ");
if (top) process.stderr.write(`top unsupported ops: ${top}\n`);
process.stderr.write(`${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
