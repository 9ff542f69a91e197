#!/usr/bin/env bash
# Sets up, type-checks and runs every test; the last line is "N passed, N failed[, N skipped]".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh || { echo "setup failed"; echo "0 passed, 1 failed"; exit 1; }

tsc_failed=0
echo "typecheck: npx tsc --noEmit -p ."
npx tsc --noEmit -p . || tsc_failed=1

json=$(mktemp --suffix=.json)
trap 'rm -f "$json"' EXIT
npx vitest run --reporter=default --reporter=json --outputFile.json="$json"
vitest_rc=$?

# Counts tests; a test file that failed to load counts as one failure, as does a failed typecheck.
summary=$(node - "$json" "$tsc_failed" <<'JS'
const fs = require("node:fs");
const [file, tscFailed] = process.argv.slice(2);
let r;
try { r = JSON.parse(fs.readFileSync(file, "utf8")); } catch { r = null; }
if (!r) { console.log(`0 passed, ${1 + Number(tscFailed)} failed`); process.exit(0); }
const brokenFiles = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
const failed = r.numFailedTests + brokenFiles + Number(tscFailed);
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
JS
)
[ "$tsc_failed" = 1 ] && echo "typecheck failed (counted as 1 failed)"
echo "$summary"
if [ "$tsc_failed" = 1 ] || [ "$vitest_rc" -ne 0 ] || [[ "$summary" != *" 0 failed"* ]]; then exit 1; fi
