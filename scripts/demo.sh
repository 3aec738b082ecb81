#!/usr/bin/env bash
# The main job: installs what it needs, builds, starts a local SeaweedFS cluster, the agent and
# the mount on .demo/mnt with sample files. Ctrl-C unmounts and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j2 --target seaweed-rdma-mount $(grep -q seaweed-rdma-agent src/tools/CMakeLists.txt && [ -f src/tools/agent_main.cc ] && echo seaweed-rdma-agent)
exec .venv/bin/python scripts/demo.py
