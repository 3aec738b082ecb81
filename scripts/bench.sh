#!/usr/bin/env bash
# The benchmark command: installs what it needs, builds, then runs bench/run.py (one run over all
# targets and workloads; JSON + PNG under bench/results/).
#   scripts/bench.sh                          # full size (~15-20 min)
#   scripts/bench.sh --size tiny              # < 2 min
#   scripts/bench.sh --targets ours_http,nullfs --workloads seq1,rand4k --repeat 5
# Extra arguments go to bench/run.py (see --help). BUILD_DIR selects the build tree (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh
exec .venv/bin/python bench/run.py --build-dir "$BUILD_DIR" "$@"
