/**
 * Lathe's layers as forbidden import edges (docs/architecture.md, "Layers", lists the same).
 * `npm test` runs these rules (test/layering.test.ts); a violation names the import.
 *
 * LEVELS runs bottom to top. A module may import its own folder and any folder on a lower
 * level; an import of a folder on its own level or a higher one is forbidden. Tests and
 * test support (`*.test.ts`, `testing.ts`, `*.fixture.ts`, `test/`) are exempt: a test may
 * build what it checks with anything.
 */
const LEVELS = [
  { core: "^core/" },
  { runtime: "^runtime/" },
  { te: "^compiler/te/" },
  { arith: "^compiler/arith/" },
  { schedule: "^compiler/schedule/" },
  { tir: "^compiler/tir/" },
  { codegen: "^compiler/codegen/" },
  { ops: "^compiler/ops/" },
  { graph: "^compiler/graph/" },
  { lower: "^compiler/lower/" },
  { autotune: "^compiler/autotune/", frontend: "^compiler/frontend/" },
  { targets: "^compiler/targets/" },
  { driver: "^compiler/driver/", distributed: "^compiler/distributed/" },
  { train: "^train/" },
  { models: "^models/" },
  { entries: "^(index|plugin-api)\\.ts$" },
  { bench: "^bench/", scripts: "^scripts/" },
  { cli: "^cli/" },
  { examples: "^examples/" },
];

/** Imports that cross the levels on purpose, each with its reason. */
const EXCEPTIONS = [
  // The op registry is below the graph, but an op's gradient rule emits graph nodes: ops see
  // the graph's data types and the GraphEmitter interface, never the builder or passes.
  { from: "^compiler/ops/", to: "^compiler/graph/(graph|types)\\.ts$" },
];

const TEST_SUPPORT = "(\\.test\\.ts|/testing\\.ts|\\.fixture\\.ts)$|^test/";

const rules = [];
LEVELS.forEach((level, i) => {
  const above = LEVELS.slice(i + 1).flatMap((l) => Object.values(l));
  for (const [name, path] of Object.entries(level)) {
    const siblings = Object.entries(level).filter(([n]) => n !== name).map(([, p]) => p);
    const forbidden = [...siblings, ...above];
    if (forbidden.length === 0) continue;
    const allowed = EXCEPTIONS.filter((e) => e.from === path).map((e) => e.to);
    rules.push({
      name: `layer-${name}`,
      comment: `${name} imports only its own folder and the levels below it (.dependency-cruiser.cjs LEVELS)`,
      severity: "error",
      from: { path, pathNot: TEST_SUPPORT },
      to: { path: forbidden.map((p) => `(${p})`).join("|"), ...(allowed.length ? { pathNot: allowed.join("|") } : {}) },
    });
  }
});

rules.push(
  {
    name: "one-target-at-a-time",
    comment: "a target does not import another target's folder (shared code lives in compiler/targets/*.ts or lower)",
    severity: "error",
    from: { path: "^compiler/targets/([^/]+)/", pathNot: TEST_SUPPORT },
    to: { path: "^compiler/targets/[^/]+/", pathNot: "^compiler/targets/$1/" },
  },
  {
    name: "benches-apart",
    comment: "a benchmark imports bench/lib and its own folder, not another benchmark's",
    severity: "error",
    from: { path: "^bench/([^/]+)/", pathNot: TEST_SUPPORT },
    to: { path: "^bench/[^/]+/", pathNot: "^bench/(lib|$1)/" },
  },
  {
    name: "runtime-needs-no-compiler",
    comment: "a program that only runs artifacts loads runtime/ and core/ alone",
    severity: "error",
    from: { path: "^runtime/", pathNot: TEST_SUPPORT },
    to: { path: "^(compiler|train|models)/" },
  },
  {
    name: "no-cycles",
    // te's expressions and tensors, and the arithmetic analyzer's simplify/prove/bound, are
    // mutually recursive by nature (as TVM's Analyzer is); every other cycle is an error.
    comment: "no import cycles outside tests (te and arith may recurse within their own folder)",
    severity: "error",
    from: { pathNot: `${TEST_SUPPORT}|^compiler/(te|arith)/` },
    to: { circular: true, viaOnly: { pathNot: TEST_SUPPORT } },
  },
);

module.exports = {
  forbidden: rules,
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^|/)(node_modules|build|\\.lathe-cache)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js", ".mjs", ".json"] },
  },
};
