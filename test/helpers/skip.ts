/**
 * Titles for tests that are skipped when something is missing. vitest prints a skipped
 * test's title (and only its title), so a skipped test's title names what is missing and the
 * command that installs it:
 *
 *   test.skipIf(!hasAsan)(skipReason("kernels stay in bounds", !hasAsan && NEEDS.asan), …)
 *
 * When the test runs, its title is the plain title.
 */

/** Something a test needs, and the command that installs it (Debian packages; `bash scripts/setup.sh` installs the required ones). */
export interface Need {
  readonly what: string;
  readonly install: string;
}

const need = (what: string, install: string): Need => ({ what, install });

export const NEEDS = {
  asan: need("AddressSanitizer's runtime for g++ (libasan)", "apt-get install libasan8"),
  gxx: need("g++", "apt-get install g++"),
  numpy: need("NumPy for /usr/bin/python3", "apt-get install python3-numpy"),
  sklearn: need("scikit-learn for /usr/bin/python3", "apt-get install python3-sklearn"),
  sklearnScipy: need("scikit-learn and SciPy for /usr/bin/python3", "apt-get install python3-sklearn python3-scipy"),
  torch: need("PyTorch for /usr/bin/python3", "apt-get install python3-torch"),
  torchOnnx: need("PyTorch and the onnx module for /usr/bin/python3", "apt-get install python3-torch python3-onnx"),
  onnxTestdata: need("ONNX's backend test data (/usr/share/libonnx-testdata)", "apt-get install libonnx-testdata"),
  dnnl: need("oneDNN's headers (dnnl.hpp)", "apt-get install libdnnl-dev"),
  verilator: need("Verilator", "apt-get install verilator"),
  iverilog: need("Icarus Verilog", "apt-get install iverilog"),
  openssl: need("openssl", "apt-get install openssl"),
  redis: need("redis-server", "apt-get install redis-server"),
  fashionMnist: need("the Fashion-MNIST files", "apt-get install dataset-fashion-mnist"),
} as const satisfies Record<string, Need>;

/** What each VTA simulator needs (compiler/targets/vta/runner.ts simulatorUnavailable). */
export const SIMULATOR_NEEDS: Readonly<Record<string, Need>> = { verilator: NEEDS.verilator, iverilog: NEEDS.iverilog, hls: NEEDS.gxx };

/**
 * `title`, or — when `missing` is set — `title [skipped: needs WHAT; install: COMMAND]`.
 * `missing` is a Need, a list of Needs any one of which would do, or a sentence that already
 * says what is missing and how to install it; false/null/undefined when nothing is missing.
 */
export function skipReason(title: string, missing: Need | readonly Need[] | string | false | null | undefined): string {
  if (!missing || (Array.isArray(missing) && missing.length === 0)) return title;
  if (typeof missing === "string") return `${title} [skipped: ${missing}]`;
  if (Array.isArray(missing)) {
    const needs = missing as readonly Need[];
    return `${title} [skipped: needs one of ${needs.map((n) => n.what).join(", ")}; install one: ${needs.map((n) => n.install).join(" | ")}]`;
  }
  const n = missing as Need;
  return `${title} [skipped: needs ${n.what}; install: ${n.install}]`;
}
