"""Helpers for tests that read through the mount and compare: sequential and random-pread
verification against expected blobs, and the counters printed in pytest's terminal summary."""

from __future__ import annotations

import errno
import os
import random
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .content import Blob, Mismatch, compare_stream, first_difference, read_file_blocks
from .env import MiB

if TYPE_CHECKING:
    from .cluster import Cluster

class Stats:
    """Counts what the tests compared; printed in pytest's terminal summary."""

    def __init__(self):
        self.files = 0
        self.bytes = 0
        self.preads = 0
        self.pread_bytes = 0
        self.mismatches: list[str] = []
        self.notes: list[str] = []

    def add(self, nbytes: int, files: int = 1):
        self.files += files
        self.bytes += nbytes

    def summary(self) -> str:
        s = (f"compared {self.files} files / {self.bytes} bytes ({self.bytes / MiB:.1f} MiB) "
             f"sequentially, {self.preads} random preads / {self.pread_bytes} bytes; "
             f"{len(self.mismatches)} mismatches")
        return s


STATS = Stats()


def errno_name(e: int) -> str:
    return errno.errorcode.get(e, str(e))


def verify_sequential(items: Iterable[tuple[Path, str, Blob]], cluster: Cluster | None = None,
                      block: int = MiB, stats: Stats = STATS) -> list[Mismatch]:
    """Reads every (mount path, filer path, expected) item front to back in `block` reads and
    compares with the expected bytes; returns the mismatches (with the covering chunk named)."""
    bad = []
    for mpath, fpath, blob in items:
        try:
            n, mm = compare_stream(fpath, read_file_blocks(mpath, block), blob)
        except OSError as e:
            n, mm = 0, Mismatch(fpath, -1, f"read error {errno_name(e.errno)}: {e}")
        stats.add(n)
        if mm:
            if cluster and mm.offset >= 0:
                mm.detail += "; " + cluster.describe_offset(fpath, mm.offset)
            bad.append(mm)
            stats.mismatches.append(str(mm))
    return bad


def pread_plan(size: int, seed: int, count: int, boundaries: Iterable[int] = ()) -> list[tuple[int, int]]:
    """Seeded (offset, length) pairs: uniform, around chunk boundaries, and across EOF."""
    rng = random.Random(seed)
    plan = []
    bl = [b for b in boundaries if 0 < b < size]
    for i in range(count):
        r = rng.random()
        if r < 0.3 and bl:
            off = max(0, rng.choice(bl) + rng.randint(-4096, 4096))
        elif r < 0.4:
            off = max(0, size - rng.randint(0, 70000))          # tail / across EOF
        else:
            off = rng.randrange(0, max(1, size))
        ln = rng.choice((1, 7, 512, 4096, 4097, 65536, 131072 + 3, rng.randint(1, 3 * MiB)))
        plan.append((off, ln))
    if size:
        plan += [(size - 1, 10), (size, 10), (size + 4096, 1)]
    return plan


def verify_preads(items: Iterable[tuple[Path, str, Blob]], seed: int, count: int = 20,
                  cluster: Cluster | None = None, boundaries: Callable[[str, int], list] | None = None,
                  stats: Stats = STATS) -> list[Mismatch]:
    """Random-offset preads compared with the expected bytes (short reads are continued)."""
    bad = []
    for k, (mpath, fpath, blob) in enumerate(items):
        plan = pread_plan(blob.size, seed * 7919 + k, count,
                          boundaries(fpath, blob.size) if boundaries else
                          range(MiB, blob.size, MiB))
        try:
            fd = os.open(mpath, os.O_RDONLY)
        except OSError as e:
            bad.append(Mismatch(fpath, -1, f"open error {errno_name(e.errno)}"))
            continue
        try:
            for off, ln in plan:
                exp = blob.read(off, ln) if off < blob.size else b""
                got = bytearray()
                try:
                    while len(got) < ln:
                        b = os.pread(fd, ln - len(got), off + len(got))
                        if not b:
                            break
                        got += b
                except OSError as e:
                    mm = Mismatch(fpath, off, f"pread({ln}) error {errno_name(e.errno)}")
                    bad.append(mm)
                    stats.mismatches.append(str(mm))
                    continue
                stats.preads += 1
                stats.pread_bytes += len(got)
                if bytes(got) != exp:
                    d = first_difference(bytes(got), exp)
                    mm = Mismatch(fpath, off + d, f"pread(off={off}, len={ln}) returned {len(got)} bytes, "
                                                  f"expected {len(exp)}; first difference at +{d}: got "
                                                  f"{bytes(got[d:d + 16]).hex()} expected {exp[d:d + 16].hex()}")
                    if cluster:
                        mm.detail += "; " + cluster.describe_offset(fpath, off + d)
                    bad.append(mm)
                    stats.mismatches.append(str(mm))
        finally:
            os.close(fd)
    return bad


def format_mismatches(bad: list[Mismatch], limit: int = 20) -> str:
    return "\n".join(str(m) for m in bad[:limit]) + (f"\n... {len(bad) - limit} more" if len(bad) > limit else "")

