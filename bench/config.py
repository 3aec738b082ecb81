"""Sizes and fixed parameters of the benchmark (no side effects: the report tests import it)."""

from __future__ import annotations

MiB = 1 << 20
GiB = 1 << 30
SCHEMA = "seaweed-rdma-bench/1"

# One entry per --size. A workload or data set that needs a new parameter adds it to both.
SIZES = {
    "full": dict(seq_bytes=GiB, small_files=5000, small_size=16 << 10, ls_entries=20000,
                 repeat=3, rand_seconds=8.0, curl_rand_ops=5000, chunk_mb=4,
                 walk_files=300_000, walk_dirs=300, walk_batch=10_000),
    "tiny": dict(seq_bytes=16 * MiB, small_files=100, small_size=16 << 10, ls_entries=200,
                 repeat=1, rand_seconds=1.0, curl_rand_ops=200, chunk_mb=4,
                 walk_files=3_000, walk_dirs=30, walk_batch=300),
}


def client_timeout(size: str) -> float:
    """Seconds one measurement's client programs may take before the run counts as failed."""
    return 600.0 if size == "full" else 120.0


STREAM_PASSES = 10  # stream10g: passes over the seq file (10 x 1 GiB at full size)
WALK_NEEDLES, WALK_NEEDLE_SIZE = 16, 4096  # metawalk: every entry points at one of these needles
# metawalk: the peak RSS goal of seaweed-rdma-mount over the full walk (300,000 files)
WALK_RSS_GOAL_MIB = 160
AGENT_SMALL_FILES = 500  # the agent CLI target reads only this many of the small files
# the memory goal of seaweed-rdma-mount: -cacheCapacityMB + -prefetchMB (its defaults; the bench
# passes neither) + a fixed overhead
OUR_CACHE_MB, OUR_PREFETCH_MB = 128, 64
OUR_FIXED_OVERHEAD_MIB = 64
OUR_RSS_BOUND_MIB = OUR_CACHE_MB + OUR_PREFETCH_MB + OUR_FIXED_OVERHEAD_MIB
