#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts a local SeaweedFS cluster, the agent and
# the mount on .demo/mnt with sample files. Ctrl-C unmounts and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=build CMAKE_ARGS="-DBUILD_TESTING=OFF" bash scripts/build.sh --target seaweed-rdma-mount seaweed-rdma-agent
PYTHONPATH="$PWD/integration${PYTHONPATH:+:$PYTHONPATH}" exec .venv/bin/python scripts/demo.py
