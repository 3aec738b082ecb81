#!/usr/bin/env bash
# The benchmark command: installs what it needs, builds, then runs the bench package (one run over
# all targets and workloads; JSON + PNG under bench/results/).
#   scripts/bench.sh                          # full size (~15-20 min)
#   scripts/bench.sh --size tiny              # < 2 min
#   scripts/bench.sh --targets ours_http,nullfs --workloads seq1,rand4k --repeat 5
# Extra arguments go to `python -m bench` (see --help). BUILD_DIR selects the build tree (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR bash scripts/build.sh
# bench/ is a package run from the repository root; integration/ provides the harness
export PYTHONPATH="$PWD/integration${PYTHONPATH:+:$PYTHONPATH}"
exec .venv/bin/python -m bench --build-dir "$BUILD_DIR" "$@"
