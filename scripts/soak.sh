#!/usr/bin/env bash
# The long soak on the network-namespace topology (integration/test_soak.py): two mounts reading
# sequentially and at random, agent kills, a vacuum and metadata churn; RSS/fd/thread curves of the
# mounts and agents as JSON + PNG under bench/results/faults/ (soak-<time>-<seconds>s.*).
#   scripts/soak.sh                  # 20 minutes
#   SOAK_SECONDS=300 scripts/soak.sh # any length; CI runs 120 s through ctest -L soak
# Needs root (network namespaces, FUSE). Other knobs: SOAK_SAMPLE_S, SOAK_KILL_EVERY_S.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
BUILD_DIR=$BUILD_DIR CMAKE_ARGS="-DBUILD_TESTING=ON" bash scripts/build.sh
export SOAK_SECONDS=${SOAK_SECONDS:-1200}
export INTEG_RESULTS_DIR=${INTEG_RESULTS_DIR:-$PWD/bench/results/faults}
export SEAWEED_MOUNT_BIN=$PWD/$BUILD_DIR/bin/seaweed-rdma-mount WEED_BIN=$PWD/.venv/bin/weed
cd integration
exec ../.venv/bin/python -m pytest -q -p no:cacheprovider test_soak.py "$@"
