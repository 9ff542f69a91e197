#!/usr/bin/env bash
# Sets up (installing what is missing), then runs the end-to-end demo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
if [ ! -f examples/demo.ts ]; then
  echo "demo: examples/demo.ts is missing" >&2
  exit 1
fi
exec npx tsx examples/demo.ts "$@"
