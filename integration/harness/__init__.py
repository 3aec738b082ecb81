"""Test harness for running seaweed-rdma-mount against a real SeaweedFS cluster.

Modules (every public name is re-exported here: `import harness`, `from harness import X`):
  env        - REPO, WEED_BIN, MOUNT_BIN, TMP_PREFIX, MODE_*, MiB, HarnessError
  procs      - Proc: a child process in its own session/process group, logging to a file, killed
               with its whole group on cleanup (and by the kernel if the test runner dies); the
               cleanup registry, signal handling, mount table helpers, run(), read_with_timeout()
  net        - free loopback port pairs (weed's gRPC port is +10000), HTTP helpers
  content    - Blob & co: deterministic expected content (no need to keep big files in RAM) and
               comparison helpers that report the first differing offset
  filer_grpc - FilerGrpc: filer gRPC stub compiled on the fly from proto/filer.proto; file ids
  cluster    - Cluster: `weed server` (master + volume + filer) on free loopback ports in a temp
               dir, plus optional extra `weed volume` servers and arbitrary extra processes
               (Cluster.spawn, e.g. the RDMA agent); HTTP and gRPC helpers to fill it
  mount      - Mount: the FUSE client under test on a fresh mountpoint
  verify     - sequential / random-pread verification through a mount, STATS for the summary
  netns      - hosts in network namespaces on a bridge (Lan, Host), link faults, processes and
               sockets inside a namespace; imported as `harness.netns` (not re-exported)

Importable without sys.path edits: integration/pytest.ini puts integration/ on pytest's
pythonpath; scripts and the benchmark run with PYTHONPATH=integration (scripts/bench.sh).

Environment:
  WEED_BIN                 weed binary            (default <repo>/.venv/bin/weed)
  SEAWEED_MOUNT_BIN        mount binary           (default <repo>/build/bin/seaweed-rdma-mount)
  SEAWEED_MOUNT_EXTRA_ARGS extra mount flags, whitespace separated (appended to every mount)
  INTEG_KEEP=1             keep temp dirs (logs, volume files) after the run
"""

from __future__ import annotations

from .env import (GEN_DIR, INTEGRATION_DIR, KEEP, MODE_DIR, MODE_PERM, MODE_SYMLINK, MOUNT_BIN, PROTO, REPO,
                  TMP_PREFIX, WEED_BIN, HarnessError, MiB)
from .procs import (Proc, _register_cleanup, _unregister_cleanup, cleanup_all, install_signal_handlers,
                    is_mounted, lazy_unmount, mounted_points, read_with_timeout, register_cleanup, run,
                    shielded, sweep_stale, tail_file, unregister_cleanup)
from .net import Response, free_port, free_port_pair, http_request, http_stream, quote_path
from .content import (Blob, BytesBlob, Expected, Mismatch, RandomBlob, compare_stream, first_difference,
                      random_bytes, read_file_blocks, sha256_file, text_bytes)
from .filer_grpc import FilerGrpc, filer_pb, format_fid, parse_fid, split_path
from .cluster import Cluster, upload_tree
from .mount import Mount, MountError, binary_has_flag
from .verify import (STATS, Stats, errno_name, format_mismatches, pread_plan, verify_preads,
                     verify_sequential)

__all__ = [
    # env
    "GEN_DIR", "INTEGRATION_DIR", "KEEP", "MODE_DIR", "MODE_PERM", "MODE_SYMLINK", "MOUNT_BIN", "PROTO",
    "REPO", "TMP_PREFIX", "WEED_BIN", "HarnessError", "MiB",
    # procs
    "Proc", "cleanup_all", "install_signal_handlers", "is_mounted", "lazy_unmount", "mounted_points",
    "read_with_timeout", "register_cleanup", "run", "shielded", "sweep_stale", "tail_file",
    "unregister_cleanup", "_register_cleanup", "_unregister_cleanup",
    # net
    "Response", "free_port", "free_port_pair", "http_request", "http_stream", "quote_path",
    # content
    "Blob", "BytesBlob", "Expected", "Mismatch", "RandomBlob", "compare_stream", "first_difference",
    "random_bytes", "read_file_blocks", "sha256_file", "text_bytes",
    # filer_grpc
    "FilerGrpc", "filer_pb", "format_fid", "parse_fid", "split_path",
    # cluster, mount, verify
    "Cluster", "upload_tree", "Mount", "MountError", "binary_has_flag",
    "STATS", "Stats", "errno_name", "format_mismatches", "pread_plan", "verify_preads", "verify_sequential",
]
