#!/usr/bin/env bash
# libFuzzer runs of the targets in tests/fuzz, in a clang build tree of its own (build-fuzz).
#   scripts/fuzz.sh smoke [SECONDS]       build, then every target for SECONDS (20) each, two at a
#                                         time (CI: .ci/run); fails on any crash, leak or timeout
#   scripts/fuzz.sh run TARGET [ARGS...]  build, then one target with extra libFuzzer ARGS
#                                         (long runs: -runs=10000000)
#   scripts/fuzz.sh list                  the target names
# Each target's working corpus grows in build-fuzz/corpus/<target>, seeded from
# tests/fuzz/corpus/<target> and tests/fuzz/regressions/<target>; a crashing input is written to
# build-fuzz/findings/<target>/ (keep it in tests/fuzz/regressions/<target>/ once fixed).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-fuzz}
mode=${1:-smoke}

targets() { sed -n 's/^seaweed_fuzz_target(\([a-z0-9_]*\) .*/\1/p' tests/fuzz/CMakeLists.txt; }

# Configures and builds the fuzz targets only (no venv needed; scripts/setup.sh installs clang and
# libclang-rt-14-dev, and smoke runs it first, as CI does).
build() {
  command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (scripts/setup.sh installs it)" >&2; exit 1; }
  local launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEAWEED_FUZZ=ON \
    -DBUILD_TESTING=OFF "${launcher[@]}" >/dev/null
  cmake --build "$BUILD_DIR" -j2 --target fuzz_targets
}

# run_target NAME [libFuzzer args...]: one libFuzzer run; the log goes to build-fuzz/logs/NAME.log.
run_target() {
  local name=$1
  shift
  local work=$BUILD_DIR/corpus/$name findings=$BUILD_DIR/findings/$name log=$BUILD_DIR/logs/$name.log
  mkdir -p "$work" "$findings" "$BUILD_DIR/logs"
  local inputs=("$work")
  for dir in tests/fuzz/corpus/$name tests/fuzz/regressions/$name; do
    [ -d "$dir" ] && inputs+=("$dir")
  done
  # -timeout: one input taking 10 s is a finding (a hostile input must not stall a reader).
  # -rss_limit_mb / -malloc_limit_mb: a hostile input must not make the parser allocate gigabytes.
  if nice -n 19 "$BUILD_DIR/bin/fuzz_$name" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$findings/" "$@" "${inputs[@]}" >"$log" 2>&1; then
    echo "fuzz: $name ok: $(summary "$log")"
  else
    echo "fuzz: $name FAILED (log $log, inputs in $findings/):" >&2
    grep -aE "ERROR|SUMMARY|fuzz check failed|Test unit written" "$log" | head -20 >&2
    return 1
  fi
}

# "N runs in S s, E exec/s, cov C ft F" from a libFuzzer log.
summary() {
  local runs secs cov ft
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$1" | tail -1)
  cov=$(grep -aoE 'cov: [0-9]+ ft: [0-9]+' "$1" | tail -1)
  echo "${runs:-?} runs in ${secs:-?} s, $(( ${runs:-0} / (${secs:-1} > 0 ? ${secs:-1} : 1) )) exec/s, ${cov:-cov ?}"
}

case $mode in
  list)
    targets
    ;;
  smoke)
    seconds=${2:-20}
    bash scripts/setup.sh
    build
    start=$(date +%s)
    failed=0
    running=0
    for t in $(targets); do
      if [ "$running" -ge 2 ]; then
        wait -n || failed=1
        running=$((running - 1))
      fi
      run_target "$t" -max_total_time="$seconds" &
      running=$((running + 1))
    done
    while [ "$running" -gt 0 ]; do
      wait -n || failed=1
      running=$((running - 1))
    done
    echo "fuzz smoke took $(($(date +%s) - start)) s"
    [ "$failed" -eq 0 ] || { echo "fuzz: a target failed" >&2; exit 1; }
    ;;
  run)
    [ $# -ge 2 ] || { echo "usage: scripts/fuzz.sh run TARGET [libFuzzer args...]" >&2; exit 2; }
    build
    name=$2
    shift 2
    run_target "$name" "$@"
    ;;
  *)
    echo "usage: scripts/fuzz.sh smoke [SECONDS] | run TARGET [ARGS...] | list" >&2
    exit 2
    ;;
esac
