"""Where the binaries are, what the environment selects, and the constants every part shares."""

from __future__ import annotations

import os
from pathlib import Path

# gRPC's fork support runs handlers in every forked child; with preexec_fn in between fork and
# exec that can abort the child ("epoll_wait error: Bad file descriptor") before it becomes the
# agent or the mount. The harness never uses gRPC in a child, so it is off (must precede import).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

INTEGRATION_DIR = Path(__file__).resolve().parent.parent
REPO = INTEGRATION_DIR.parent
WEED_BIN = os.environ.get("WEED_BIN") or str(REPO / ".venv" / "bin" / "weed")
MOUNT_BIN = os.environ.get("SEAWEED_MOUNT_BIN") or str(REPO / "build" / "bin" / "seaweed-rdma-mount")
PROTO = REPO / "proto" / "filer.proto"
GEN_DIR = INTEGRATION_DIR / ".gen"
KEEP = os.environ.get("INTEG_KEEP", "") not in ("", "0")

TMP_PREFIX = f"swinteg-{os.getpid()}-"  # the pid lets a later run sweep what a killed run left behind

# Go's os.FileMode keeps the type in high bits: ModeDir is bit 31, ModeSymlink bit 27; the filer
# stores entries' file_mode that way.
MODE_DIR = 1 << 31
MODE_SYMLINK = 1 << 27
MODE_PERM = 0o7777

MiB = 1 << 20


class HarnessError(RuntimeError):
    pass
