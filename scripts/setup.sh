#!/usr/bin/env bash
# Installs what Lathe needs and builds what is stale. Idempotent: a second run does nothing.
#   REQUIRED apt packages (build + tests) are installed when missing.
#   OPTIONAL ones (targets, baselines, data sets; some are large) only with LATHE_SETUP_ALL=1.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# What the test suite exercises: Fashion-MNIST (training test), the ONNX backend test data
# (conformance), Verilator and Icarus (the VTA simulators), Yosys, nextpnr-ice40 and IceStorm
# (the VTA FPGA flows), Chromium's SwiftShader Vulkan
# driver with libvulkan1 (the webgpu target without a GPU), redis-server (the job queue of
# lathe worker / lathe tune --queue; its tests start their own server on a loopback port).
REQUIRED=(build-essential g++ cmake libopenblas-dev libxgboost-dev dataset-fashion-mnist
          libonnx-testdata verilator iverilog yosys nextpnr-ice40 fpga-icestorm chromium libvulkan1 redis-server)
# Baselines and exporters (large): tests that need them skip with the reason.
OPTIONAL=(python3-onnx python3-torch python3-torchvision python3-sklearn libdnnl-dev)

say() { printf 'setup: %s\n' "$*"; }

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

missing_of() {
  local p out=()
  for p in "$@"; do installed "$p" || out+=("$p"); done
  echo "${out[@]+"${out[@]}"}"
}

# Runs apt-get as root, through passwordless sudo, or returns 1 if neither is possible.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"
  else return 1
  fi
}

apt_install() {
  local log
  log=$(mktemp)
  export DEBIAN_FRONTEND=noninteractive
  say "installing: $*"
  if ! { as_root apt-get update -qq && as_root apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    return 1
  fi
  rm -f "$log"
}

# --- apt packages -----------------------------------------------------------
if command -v dpkg-query >/dev/null 2>&1; then
  read -r -a need <<<"$(missing_of "${REQUIRED[@]}")"
  read -r -a optional <<<"$(missing_of "${OPTIONAL[@]}")"
  if [ "${LATHE_SETUP_ALL:-0}" = 1 ]; then
    need+=(${optional[@]+"${optional[@]}"})
    optional=()
  fi
  if [ "${#need[@]}" -gt 0 ]; then
    if ! as_root true; then
      say "missing packages: ${need[*]}"
      say "run as root: apt-get update && apt-get install -y ${need[*]}"
      exit 1
    fi
    apt_install "${need[@]}"
  fi
  if [ "${#optional[@]}" -gt 0 ]; then
    say "optional packages not installed: ${optional[*]}"
    say "  (LATHE_SETUP_ALL=1 bash scripts/setup.sh installs them; \`npx lathe doctor\` says what each enables)"
  fi
else
  say "not a Debian system: install g++, cmake, OpenBLAS and XGBoost development files yourself"
fi

# --- npm packages -------------------------------------------------------------
# npm writes node_modules/.package-lock.json on every install: older than the lockfile means stale.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  # onnxruntime-node's install step would download a GPU add-on; its CPU library ships in the package.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
fi

# --- native addon -------------------------------------------------------------
addon=build/Release/lathe_native.node
if [ ! -f "$addon" ] || [ -n "$(find CMakeLists.txt package.json native -type f -newer "$addon" -print -quit)" ]; then
  say "building the native addon"
  log=$(mktemp)
  if ! npx cmake-js compile --out build >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    say "native addon build failed"
    exit 1
  fi
  rm -f "$log"
  touch "$addon" # the linker may leave an up-to-date file untouched
fi
